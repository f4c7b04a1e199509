// Package objstoretest is the conformance suite every objstore.Store
// implementation passes: the directory and S3 stores run the same tests.
package objstoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// Run runs the suite; open returns a fresh, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) objstore.Store) {
	t.Helper()
	tests := []struct {
		desc string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"get absent is ErrNotFound", testGetAbsent},
		{"put then get", testPutGet},
		{"create-only refuses an existing key", testCreateOnly},
		{"compare-and-swap", testCompareAndSwap},
		{"concurrent create-only has one winner", testConcurrentCreate},
		{"concurrent swaps never lose a write", testConcurrentSwap},
		{"list and delete", testListDelete},
		{"list a page after a key", testListPage},
		{"list a page longer than a request", testListLongPage},
		{"bounded get refuses a larger object", testGetMax},
		{"conditional get answers not modified while the etag holds", testGetIfChanged},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func testGetAbsent(t *testing.T, s objstore.Store) {
	_, _, err := s.Get(context.Background(), "latest.json")
	require.ErrorIs(t, err, objstore.ErrNotFound)
}

func testPutGet(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	etag, err := s.Put(ctx, "snapshots/1.json.gz", []byte("one"), objstore.Condition{})
	require.NoError(t, err)
	require.NotEmpty(t, etag)
	data, got, err := s.Get(ctx, "snapshots/1.json.gz")
	require.NoError(t, err)
	require.Equal(t, "one", string(data))
	require.Equal(t, etag, got)
}

func testCreateOnly(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	_, err := s.Put(ctx, "snapshots/2.json.gz", []byte("first"), objstore.Condition{IfNoneMatch: true})
	require.NoError(t, err)
	_, err = s.Put(ctx, "snapshots/2.json.gz", []byte("second"), objstore.Condition{IfNoneMatch: true})
	require.ErrorIs(t, err, objstore.ErrPrecondition)
	data, _, err := s.Get(ctx, "snapshots/2.json.gz")
	require.NoError(t, err)
	require.Equal(t, "first", string(data), "a refused create must not change the object")
}

func testCompareAndSwap(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	e1, err := s.Put(ctx, "latest.json", []byte(`{"revision":1}`), objstore.Condition{IfNoneMatch: true})
	require.NoError(t, err)
	e2, err := s.Put(ctx, "latest.json", []byte(`{"revision":2}`), objstore.Condition{IfMatch: e1})
	require.NoError(t, err)
	require.NotEqual(t, e1, e2)
	_, err = s.Put(ctx, "latest.json", []byte(`{"revision":3}`), objstore.Condition{IfMatch: e1})
	require.ErrorIs(t, err, objstore.ErrPrecondition, "a stale etag must be refused")
	data, etag, err := s.Get(ctx, "latest.json")
	require.NoError(t, err)
	require.Equal(t, `{"revision":2}`, string(data))
	require.Equal(t, e2, etag)
}

func testConcurrentCreate(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Put(ctx, "snapshots/3.json.gz", []byte(fmt.Sprint(i)), objstore.Condition{IfNoneMatch: true})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, objstore.ErrPrecondition)
		}
	}
	require.Equal(t, 1, won)
}

// testConcurrentSwap increments a counter with compare-and-swap from
// several goroutines; every successful swap must be counted.
func testConcurrentSwap(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	_, err := s.Put(ctx, "counter", []byte("0"), objstore.Condition{IfNoneMatch: true})
	require.NoError(t, err)
	const workers, each = 4, 5
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < each; {
				data, etag, err := s.Get(ctx, "counter")
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				_, _ = fmt.Sscan(string(data), &n)
				_, err = s.Put(ctx, "counter", []byte(fmt.Sprint(n+1)), objstore.Condition{IfMatch: etag})
				if errors.Is(err, objstore.ErrPrecondition) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	data, _, err := s.Get(ctx, "counter")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(workers*each), string(data))
}

func testListDelete(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	for _, k := range []string{"snapshots/b", "snapshots/a", "latest.json"} {
		_, err := s.Put(ctx, k, []byte(k), objstore.Condition{})
		require.NoError(t, err)
	}
	keys, err := s.List(ctx, "snapshots/")
	require.NoError(t, err)
	require.Equal(t, []string{"snapshots/a", "snapshots/b"}, keys)
	require.NoError(t, s.Delete(ctx, "snapshots/a"))
	require.NoError(t, s.Delete(ctx, "snapshots/a"), "deleting an absent object is not an error")
	_, _, err = s.Get(ctx, "snapshots/a")
	require.ErrorIs(t, err, objstore.ErrNotFound)
}

func testListPage(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	for _, k := range []string{"deltas/c", "deltas/a", "deltas/d", "deltas/b", "latest.json"} {
		_, err := s.Put(ctx, k, []byte(k), objstore.Condition{})
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		after string
		max   int
		want  []string
	}{
		{"", 2, []string{"deltas/a", "deltas/b"}},
		{"deltas/b", 2, []string{"deltas/c", "deltas/d"}},
		{"deltas/bb", 10, []string{"deltas/c", "deltas/d"}},
		{"deltas/d", 2, []string{}},
	} {
		keys, err := objstore.ListPage(ctx, s, "deltas/", tc.after, tc.max)
		require.NoError(t, err)
		require.Equal(t, tc.want, append([]string{}, keys...), "after %q", tc.after)
	}
}

// testListLongPage: a page of more keys than one S3 request lists
// (1,000) is whole: a page shorter than asked is the listing's end.
func testListLongPage(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	const n = 1003
	for i := range n {
		_, err := s.Put(ctx, fmt.Sprintf("deltas/%05d", i), nil, objstore.Condition{})
		require.NoError(t, err)
	}
	keys, err := objstore.ListPage(ctx, s, "deltas/", "", n-1)
	require.NoError(t, err)
	require.Len(t, keys, n-1)
	require.Equal(t, "deltas/00000", keys[0])
	require.Equal(t, fmt.Sprintf("deltas/%05d", n-2), keys[n-2])
	keys, err = objstore.ListPage(ctx, s, "deltas/", keys[n-2], n)
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprintf("deltas/%05d", n-1)}, keys)
}

func testGetMax(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	_, err := s.Put(ctx, "latest.json", []byte("0123456789"), objstore.Condition{})
	require.NoError(t, err)
	data, _, err := objstore.GetMax(ctx, s, "latest.json", 10)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(data))
	_, _, err = objstore.GetMax(ctx, s, "latest.json", 9)
	require.ErrorIs(t, err, objstore.ErrTooLarge)
	_, _, err = objstore.GetMax(ctx, s, "absent", 9)
	require.ErrorIs(t, err, objstore.ErrNotFound)
}

func testGetIfChanged(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	etag, err := s.Put(ctx, "latest.json", []byte(`{"revision":1}`), objstore.Condition{})
	require.NoError(t, err)
	data, got, err := objstore.GetIfChanged(ctx, s, "latest.json", "", 64)
	require.NoError(t, err, "no etag: an unconditional read")
	require.Equal(t, `{"revision":1}`, string(data))
	require.Equal(t, etag, got)
	_, _, err = objstore.GetIfChanged(ctx, s, "latest.json", etag, 64)
	require.ErrorIs(t, err, objstore.ErrNotModified)
	next, err := s.Put(ctx, "latest.json", []byte(`{"revision":2}`), objstore.Condition{IfMatch: etag})
	require.NoError(t, err)
	data, got, err = objstore.GetIfChanged(ctx, s, "latest.json", etag, 64)
	require.NoError(t, err)
	require.Equal(t, `{"revision":2}`, string(data))
	require.Equal(t, next, got)
	_, _, err = objstore.GetIfChanged(ctx, s, "latest.json", next, 64)
	require.ErrorIs(t, err, objstore.ErrNotModified)
	_, _, err = objstore.GetIfChanged(ctx, s, "absent", etag, 64)
	require.ErrorIs(t, err, objstore.ErrNotFound)
}
