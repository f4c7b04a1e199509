package sync_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// TestBootReportsLostCache boots, with the control plane and the fallback
// both unable to help, from caches that held a configuration but must not
// be booted from: each is refused, with a warning, and /status's sync
// state says the cache is lost and why (it was an INFO line before, and
// nothing in /status).
func TestBootReportsLostCache(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc   string
		damage func(t *testing.T, dir string)
		reason string
	}{
		{
			desc:   "cache file gone, as a crash once left it",
			damage: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, cache.File))) },
			reason: cache.ErrLost.Error(),
		},
		{
			desc:   "damaged",
			damage: func(t *testing.T, dir string) { flipLastByte(t, filepath.Join(dir, cache.File)) },
			reason: snapshot.ErrDigest.Error(),
		},
		{
			desc: "an older snapshot planted",
			damage: func(t *testing.T, dir string) {
				older := t.TempDir()
				data, p, err := snapshot.Seal(document(2), priv, fixedTime)
				require.NoError(t, err)
				require.NoError(t, cache.New(older, pub).Save(data, p))
				planted, err := os.ReadFile(filepath.Join(older, cache.File))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, cache.File), planted, 0o600))
			},
			reason: cache.ErrStale.Error(),
		},
		{
			desc:   "writable by others",
			damage: func(t *testing.T, dir string) { require.NoError(t, os.Chmod(filepath.Join(dir, cache.File), 0o666)) },
			reason: cache.ErrUnsafe.Error(),
		},
		{
			desc: "a link to /dev/zero",
			damage: func(t *testing.T, dir string) {
				path := filepath.Join(dir, cache.File)
				require.NoError(t, os.Remove(path))
				require.NoError(t, os.Symlink("/dev/zero", path))
			},
			reason: cache.ErrUnsafe.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cacheDir := t.TempDir()
			data, p, err := snapshot.Seal(document(9), priv, fixedTime)
			require.NoError(t, err)
			require.NoError(t, cache.New(cacheDir, pub).Save(data, p))
			tt.damage(t, cacheDir)
			a := &fakeApplier{}

			cfg := testConfig(t, pub)
			logs := captureLogs(t, &cfg)
			cfg.CPURL = closedURL(t)
			cfg.Fallback = dirStore(t) // nothing published
			cfg.Cache = cache.New(cacheDir, pub)
			c, err := dpsync.New(cfg, a)
			require.NoError(t, err)
			run(t, c)

			require.Eventually(t, func() bool { return c.SyncState().Cache == "lost" }, waitFor, tick)
			st := c.SyncState()
			require.Contains(t, st.CacheError, tt.reason)
			require.True(t, logs.has("level=WARN", "cache lost", tt.reason), "a lost cache is a warning")
			calls, _ := a.applied()
			require.Empty(t, calls)
		})
	}
}

// TestBootDoesNotHangOnSpecialFiles: a FIFO (which once hung sync for
// ever, a valid fallback present) or a link to /dev/zero in the cache is
// refused at once, and the fallback's snapshot is applied and cached.
func TestBootDoesNotHangOnSpecialFiles(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc  string
		plant func(t *testing.T, path string)
	}{
		{desc: "FIFO", plant: func(t *testing.T, path string) { require.NoError(t, syscall.Mkfifo(path, 0o600)) }},
		{desc: "link to /dev/zero", plant: func(t *testing.T, path string) { require.NoError(t, os.Symlink("/dev/zero", path)) }},
	}
	for _, tt := range tests {
		for _, name := range []string{cache.File, cache.MarkFile, cache.NodeIDFile} {
			t.Run(tt.desc+" as "+name, func(t *testing.T) {
				t.Parallel()
				cacheDir := t.TempDir()
				tt.plant(t, filepath.Join(cacheDir, name))
				store := dirStore(t)
				publish(t, store, priv, 4)
				a := &fakeApplier{}

				cfg := testConfig(t, pub)
				cfg.Fallback = store
				cfg.Cache = cache.New(cacheDir, pub)
				c, err := dpsync.New(cfg, a)
				require.NoError(t, err)
				run(t, c)

				require.Eventually(t, func() bool { return a.revision() == 4 }, waitFor, tick)
				_, err = cache.NodeID(cacheDir)
				if name == cache.NodeIDFile {
					require.Error(t, err, "a node-id that is not a regular file is refused")
				}
			})
		}
	}
}

// TestFallbackSpecialFilesRefused: a fallback whose latest.json is a link
// to /dev/zero (which grew a data plane past 3 GB) or a FIFO is reported
// and never read; the data plane keeps running and applies what comes
// next.
func TestFallbackSpecialFilesRefused(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc  string
		plant func(t *testing.T, path string)
	}{
		{desc: "FIFO", plant: func(t *testing.T, path string) { require.NoError(t, syscall.Mkfifo(path, 0o600)) }},
		{desc: "link to /dev/zero", plant: func(t *testing.T, path string) { require.NoError(t, os.Symlink("/dev/zero", path)) }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			store := dirStore(t)
			tt.plant(t, filepath.Join(store.Root(), snapshot.LatestKey))
			a := &fakeApplier{}
			cfg := testConfig(t, pub)
			cfg.Fallback = store
			c, err := dpsync.New(cfg, a)
			require.NoError(t, err)
			run(t, c)

			require.Eventually(t, func() bool {
				return a.revision() == 0 && c.SyncState().LastError != ""
			}, waitFor, tick)
			require.Contains(t, c.SyncState().LastError, "not a regular file")
			require.NoError(t, os.Remove(filepath.Join(store.Root(), snapshot.LatestKey)))
			publish(t, store, priv, 3)
			require.Eventually(t, func() bool { return a.revision() == 3 }, waitFor, tick)
		})
	}
}

// TestForgedNoticeDoesNotBlockGenuine sends a forged notice for revision
// 4 (a digest that does not match the stored snapshot), then the genuine
// notice for revision 4: the forgery is rejected and the genuine snapshot
// applied (it was skipped until revision 5 when rejections were
// remembered by revision alone).
func TestForgedNoticeDoesNotBlockGenuine(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cp := newFakeCP(t)
	a := &fakeApplier{}
	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	cfg.Fallback = store
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)

	genuine := publish(t, store, priv, 4)
	forged := genuine
	forged.SHA256 = "00" + genuine.SHA256[2:]
	send(t, conn, notice(forged))
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateRejected, st.State)
	require.EqualValues(t, 4, st.RejectedRevision)
	require.Contains(t, st.Error, snapshot.ErrDigest.Error())

	send(t, conn, notice(genuine))
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State)
	require.EqualValues(t, 4, st.Revision)
	calls, _ := a.applied()
	require.Equal(t, []int64{4}, calls)
}
