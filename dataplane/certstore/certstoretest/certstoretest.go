// Package certstoretest is the conformance suite for certmagic.Storage
// implementations: the contract certmagic documents (file and directory
// semantics, fs.ErrNotExist, recursive delete and list) and mutual
// exclusion of its locks within and across instances. certmagic's own
// FileStorage passes it.
package certstoretest

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/stretchr/testify/require"
)

// Open returns two Storage values over one fresh, empty backend, as two
// data planes sharing a bucket would hold them.
type Open func(t *testing.T) (a, b certmagic.Storage)

// Run runs the suite.
func Run(t *testing.T, open Open) {
	t.Helper()
	tests := []struct {
		desc string
		fn   func(t *testing.T, a, b certmagic.Storage)
	}{
		{"store, load, stat and exists", testStoreLoad},
		{"absent keys are fs.ErrNotExist", testAbsent},
		{"list", testList},
		{"delete removes a key and everything below it", testDelete},
		{"lock excludes goroutines", func(t *testing.T, a, _ certmagic.Storage) { critical(t, a, a) }},
		{"lock excludes two instances", critical},
		{"a held lock blocks until ctx is done", testLockBlocks},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a, b := open(t)
			tc.fn(t, a, b)
		})
	}
}

func testStoreLoad(t *testing.T, a, b certmagic.Storage) {
	ctx := context.Background()
	const key = "certificates/ca/example.com/example.com.crt"
	require.NoError(t, a.Store(ctx, key, []byte("cert")))
	require.NoError(t, a.Store(ctx, key, []byte("cert-2")))
	got, err := b.Load(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "cert-2", string(got), "the other instance reads the last write")

	info, err := a.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, key, info.Key)
	require.True(t, info.IsTerminal)
	require.EqualValues(t, 6, info.Size)
	info, err = a.Stat(ctx, "certificates/ca")
	require.NoError(t, err)
	require.False(t, info.IsTerminal, "a directory")

	require.True(t, a.Exists(ctx, key))
	require.True(t, a.Exists(ctx, "certificates/ca/example.com"))
	require.False(t, a.Exists(ctx, "certificates/ca/example"))
}

func testAbsent(t *testing.T, a, _ certmagic.Storage) {
	ctx := context.Background()
	_, err := a.Load(ctx, "acme/users/x.json")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = a.Stat(ctx, "acme/users")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = a.List(ctx, "acme", true)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.False(t, a.Exists(ctx, "acme"))
}

func testList(t *testing.T, a, _ certmagic.Storage) {
	ctx := context.Background()
	for _, k := range []string{"a/b/c.crt", "a/b/c.key", "a/d.json", "ab/e"} {
		require.NoError(t, a.Store(ctx, k, []byte(k)))
	}
	tests := []struct {
		desc      string
		dir       string
		recursive bool
		want      []string
	}{
		{"children", "a", false, []string{"a/b", "a/d.json"}},
		{"recursive: files and directories", "a", true, []string{"a/b", "a/b/c.crt", "a/b/c.key", "a/d.json"}},
		{"nested", "a/b", false, []string{"a/b/c.crt", "a/b/c.key"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := a.List(ctx, tc.dir, tc.recursive)
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

func testDelete(t *testing.T, a, _ certmagic.Storage) {
	ctx := context.Background()
	for _, k := range []string{"a/b/c", "a/d", "ab"} {
		require.NoError(t, a.Store(ctx, k, []byte(k)))
	}
	require.NoError(t, a.Delete(ctx, "a/d"))
	require.False(t, a.Exists(ctx, "a/d"))
	require.NoError(t, a.Delete(ctx, "a"))
	require.False(t, a.Exists(ctx, "a/b/c"))
	require.False(t, a.Exists(ctx, "a"))
	require.True(t, a.Exists(ctx, "ab"), "a prefix is a whole path component")
	require.NoError(t, a.Delete(ctx, "absent"))
}

// critical runs workers that take one lock, alternately through a and b,
// and checks that no two are ever inside at once.
func critical(t *testing.T, a, b certmagic.Storage) {
	const n = 6
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var inside, entered atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			if err := s.Lock(ctx, "issue_cert_example.com"); err != nil {
				errs <- err
				return
			}
			if inside.Add(1) != 1 {
				errs <- errors.New("two holders at once")
			}
			entered.Add(1)
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			errs <- s.Unlock(ctx, "issue_cert_example.com")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, n, entered.Load())
}

func testLockBlocks(t *testing.T, a, b certmagic.Storage) {
	ctx := context.Background()
	require.NoError(t, a.Lock(ctx, "renew_cert_example.com"))
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.Lock(short, "renew_cert_example.com"), context.DeadlineExceeded)
	require.NoError(t, a.Unlock(ctx, "renew_cert_example.com"))
	require.NoError(t, b.Lock(ctx, "renew_cert_example.com"), "free once unlocked")
	require.NoError(t, b.Unlock(ctx, "renew_cert_example.com"))
}
