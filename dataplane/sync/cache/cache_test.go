package cache_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

func seal(t *testing.T, priv ed25519.PrivateKey, rev int64) ([]byte, snapshot.Pointer) {
	t.Helper()
	name := "svc"
	doc := &snapshot.Document{Revision: rev, Config: model.Config{Services: []*model.Service{
		{Base: model.Base{ID: "0b5c2f4e-8f5a-4d38-9a51-3f0f2a1c7e01"}, Name: &name, Host: "example.com", Protocol: "http", Port: 80},
	}}}
	data, p, err := snapshot.Seal(doc, priv, time.Now())
	require.NoError(t, err)
	return data, p
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "dp")
	c := cache.New(dir, pub)

	_, _, err = c.Load()
	require.ErrorIs(t, err, cache.ErrEmpty)

	data, p := seal(t, priv, 7)
	require.NoError(t, c.Save(data, p))
	doc, got, err := c.Load()
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.EqualValues(t, 7, doc.Revision)
	require.Len(t, doc.Services, 1)

	for _, name := range []string{cache.File, cache.MarkFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "the cache is one file and its mark")

	// A newer save replaces it.
	data, p = seal(t, priv, 8)
	require.NoError(t, c.Save(data, p))
	doc, _, err = c.Load()
	require.NoError(t, err)
	require.EqualValues(t, 8, doc.Revision)
}

// rewrite applies edit to the cache file's bytes in place.
func rewrite(t *testing.T, dir string, edit func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, cache.File)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, edit(data), 0o600))
}

func TestLoadRejectsDamage(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	otherPub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)

	tests := []struct {
		desc   string
		key    ed25519.PublicKey
		damage func(t *testing.T, dir string)
		want   error
	}{
		{
			desc:   "truncated",
			key:    pub,
			damage: func(t *testing.T, dir string) { rewrite(t, dir, func(b []byte) []byte { return b[:len(b)-10] }) },
			want:   snapshot.ErrSize,
		},
		{
			desc:   "longer than the pointer says",
			key:    pub,
			damage: func(t *testing.T, dir string) { rewrite(t, dir, func(b []byte) []byte { return append(b, 0) }) },
			want:   snapshot.ErrSize,
		},
		{
			desc: "flipped byte",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				rewrite(t, dir, func(b []byte) []byte { b[len(b)-20] ^= 0xff; return b })
			},
			want: snapshot.ErrDigest,
		},
		{
			desc:   "signed by another key",
			key:    otherPub,
			damage: func(*testing.T, string) {},
			want:   snapshot.ErrSignature,
		},
		{
			desc: "truncated pointer",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				rewrite(t, dir, func([]byte) []byte { return []byte("skyport-cache 1\n{\"revision\":") })
			},
			want: snapshot.ErrCorrupt,
		},
		{
			desc: "unknown header",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				rewrite(t, dir, func(b []byte) []byte { return append([]byte("x"), b...) })
			},
			want: snapshot.ErrCorrupt,
		},
		{
			desc: "pointer line without end",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				long := make([]byte, snapshot.MaxPointer*2)
				for i := range long {
					long[i] = ' '
				}
				rewrite(t, dir, func([]byte) []byte { return append([]byte("skyport-cache 1\n"), long...) })
			},
			want: snapshot.ErrCorrupt,
		},
		{
			desc:   "cache file deleted",
			key:    pub,
			damage: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, cache.File))) },
			want:   cache.ErrLost,
		},
		{
			desc: "mark corrupt",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, cache.MarkFile), []byte("{"), 0o600))
			},
			want: snapshot.ErrCorrupt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data, p := seal(t, priv, 3)
			require.NoError(t, cache.New(dir, pub).Save(data, p))
			tt.damage(t, dir)
			doc, _, err := cache.New(dir, tt.key).Load()
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, doc)
		})
	}
}

// TestLoadRefusesSpecialFiles plants in place of the cache file, or of its
// mark, what once grew a data plane past 3 GB (a symbolic link to
// /dev/zero) or hung it (a FIFO); each is refused at once.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc  string
		plant func(t *testing.T, path string)
	}{
		{
			desc:  "symbolic link to /dev/zero",
			plant: func(t *testing.T, path string) { require.NoError(t, os.Symlink("/dev/zero", path)) },
		},
		{
			desc: "symbolic link to a valid cache",
			plant: func(t *testing.T, path string) {
				other := t.TempDir()
				data, p := seal(t, priv, 3)
				require.NoError(t, cache.New(other, pub).Save(data, p))
				require.NoError(t, os.Symlink(filepath.Join(other, filepath.Base(path)), path))
			},
		},
		{
			desc:  "FIFO",
			plant: func(t *testing.T, path string) { require.NoError(t, syscall.Mkfifo(path, 0o600)) },
		},
	}
	for _, tt := range tests {
		for _, name := range []string{cache.File, cache.MarkFile} {
			t.Run(tt.desc+" as "+name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				data, p := seal(t, priv, 3)
				require.NoError(t, cache.New(dir, pub).Save(data, p))
				require.NoError(t, os.Remove(filepath.Join(dir, name)))
				tt.plant(t, filepath.Join(dir, name))

				done := make(chan error, 1)
				go func() {
					_, _, err := cache.New(dir, pub).Load()
					done <- err
				}()
				select {
				case err := <-done:
					require.ErrorIs(t, err, cache.ErrUnsafe)
				case <-time.After(time.Minute):
					t.Fatal("Load blocked on a special file")
				}
			})
		}
	}
}

// TestLoadRefusesFilesOthersMayWrite checks ownership and modes: a cache
// file, mark or directory that another user owns or may write is never
// trusted, since a planted snapshot would be booted from.
func TestLoadRefusesFilesOthersMayWrite(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc   string
		root   bool
		change func(t *testing.T, dir string)
	}{
		{desc: "cache file writable by others", change: chmod(cache.File, 0o606)},
		{desc: "cache file writable by the group", change: chmod(cache.File, 0o620)},
		{desc: "mark writable by others", change: chmod(cache.MarkFile, 0o666)},
		{desc: "directory writable by others", change: chmod("", 0o777)},
		{desc: "directory writable by the group", change: chmod("", 0o770)},
		{desc: "cache file owned by another user", root: true, change: chown(cache.File)},
		{desc: "mark owned by another user", root: true, change: chown(cache.MarkFile)},
		{desc: "directory owned by another user", root: true, change: chown("")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if tt.root && os.Getuid() != 0 {
				t.Skip("giving a file to another user takes chown, which only root may do; this user is not root")
			}
			dir := filepath.Join(t.TempDir(), "dp")
			data, p := seal(t, priv, 3)
			require.NoError(t, cache.New(dir, pub).Save(data, p))
			tt.change(t, dir)
			_, _, err := cache.New(dir, pub).Load()
			require.ErrorIs(t, err, cache.ErrUnsafe)
			if tt.desc == "directory writable by others" {
				require.ErrorIs(t, cache.New(dir, pub).Save(data, p), cache.ErrUnsafe, "nothing is cached in such a directory either")
			}
		})
	}
}

func chmod(name string, mode os.FileMode) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		require.NoError(t, os.Chmod(filepath.Join(dir, name), mode))
	}
}

// chown gives name to nobody (65534).
func chown(name string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		require.NoError(t, os.Lchown(filepath.Join(dir, name), 65534, 65534))
	}
}

// TestLoadRefusesOlderThanApplied plants a genuine, validly signed but
// older snapshot in the cache (as a copy of an older cache file, owned and
// moded correctly): the mark refuses it, and a save never moves the mark
// back.
func TestLoadRefusesOlderThanApplied(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	old, dir := t.TempDir(), t.TempDir()
	data3, p3 := seal(t, priv, 3)
	require.NoError(t, cache.New(old, pub).Save(data3, p3))
	data5, p5 := seal(t, priv, 5)
	require.NoError(t, cache.New(dir, pub).Save(data5, p5))

	planted, err := os.ReadFile(filepath.Join(old, cache.File))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, cache.File), planted, 0o600))
	_, _, err = cache.New(dir, pub).Load()
	require.ErrorIs(t, err, cache.ErrStale)

	// The same revision with another digest is refused too.
	other := &snapshot.Document{Revision: 5}
	data, p, err := snapshot.Seal(other, priv, time.Now())
	require.NoError(t, err)
	sameRev := t.TempDir()
	require.NoError(t, cache.New(sameRev, pub).Save(data, p))
	planted, err = os.ReadFile(filepath.Join(sameRev, cache.File))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, cache.File), planted, 0o600))
	_, _, err = cache.New(dir, pub).Load()
	require.ErrorIs(t, err, cache.ErrStale)

	// An older revision is not saved, nor the mark moved back.
	require.ErrorIs(t, cache.New(dir, pub).Save(data3, p3), cache.ErrStale)
	require.ErrorIs(t, cache.New(dir, pub).Save(data, p), cache.ErrStale)
	_, _, err = cache.New(dir, pub).Load()
	require.ErrorIs(t, err, cache.ErrStale)
	require.NoError(t, cache.New(dir, pub).Save(data5, p5))
	doc, _, err := cache.New(dir, pub).Load()
	require.NoError(t, err)
	require.EqualValues(t, 5, doc.Revision)
}

func TestNodeIDKept(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "dp")
	id, err := cache.NodeID(dir)
	require.NoError(t, err)
	require.NotEmpty(t, id)
	again, err := cache.NodeID(dir)
	require.NoError(t, err)
	require.Equal(t, id, again)

	a, err := cache.NodeID("")
	require.NoError(t, err)
	b, err := cache.NodeID("")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestNodeIDRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, cache.NodeIDFile)))
	_, err := cache.NodeID(dir)
	require.Error(t, err)
}
