package cache_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
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

	for _, name := range []string{cache.SnapshotFile, cache.PointerFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}

	// A newer save replaces the pair.
	data, p = seal(t, priv, 8)
	require.NoError(t, c.Save(data, p))
	doc, _, err = c.Load()
	require.NoError(t, err)
	require.EqualValues(t, 8, doc.Revision)
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
			desc: "truncated snapshot",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				path := filepath.Join(dir, cache.SnapshotFile)
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(path, data[:len(data)/2], 0o600))
			},
			want: snapshot.ErrSize,
		},
		{
			desc: "flipped byte",
			key:  pub,
			damage: func(t *testing.T, dir string) {
				path := filepath.Join(dir, cache.SnapshotFile)
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				data[len(data)/2] ^= 0xff
				require.NoError(t, os.WriteFile(path, data, 0o600))
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
				require.NoError(t, os.WriteFile(filepath.Join(dir, cache.PointerFile), []byte(`{"revision":`), 0o600))
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
