package cache_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// oldLayout writes data and p as the first cache layout did: two files.
func oldLayout(t *testing.T, dir string, data []byte, p snapshot.Pointer) {
	t.Helper()
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cache.json.gz"), data, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cache.pointer.json"), raw, 0o600))
}

func TestMigrateOldLayout(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	_, p4 := seal(t, priv, 4)
	data5, p5 := seal(t, priv, 5)

	tests := []struct {
		desc     string
		data     []byte
		p        snapshot.Pointer
		migrated bool
	}{
		{desc: "a consistent pair", data: data5, p: p5, migrated: true},
		{desc: "the pair a crash between the two renames left", data: data5, p: p4},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			oldLayout(t, dir, tt.data, tt.p)
			c := cache.New(dir, pub)
			migrated, err := c.Migrate()
			require.Equal(t, tt.migrated, migrated)
			if tt.migrated {
				require.NoError(t, err)
			} else {
				// The sizes may match (then the digest does not).
				require.True(t, errors.Is(err, snapshot.ErrSize) || errors.Is(err, snapshot.ErrDigest), "%v", err)
			}
			for _, name := range []string{"cache.json.gz", "cache.pointer.json"} {
				_, err := os.Lstat(filepath.Join(dir, name))
				require.ErrorIs(t, err, os.ErrNotExist, "the old layout is read once")
			}
			doc, _, err := c.Load()
			if !tt.migrated {
				require.ErrorIs(t, err, cache.ErrEmpty)
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, 5, doc.Revision)
			again, err := c.Migrate()
			require.NoError(t, err)
			require.False(t, again)
		})
	}
}

// TestMigrateRefusesWhatLoadRefuses: the old files pass the same checks.
func TestMigrateRefusesWhatLoadRefuses(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	data, p := seal(t, priv, 5)
	oldLayout(t, dir, data, p)
	require.NoError(t, os.Chmod(filepath.Join(dir, "cache.json.gz"), 0o666))
	migrated, err := cache.New(dir, pub).Migrate()
	require.False(t, migrated)
	require.ErrorIs(t, err, cache.ErrUnsafe)

	dir = t.TempDir()
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "cache.pointer.json")))
	migrated, err = cache.New(dir, pub).Migrate()
	require.False(t, migrated)
	require.ErrorIs(t, err, cache.ErrUnsafe)
}
