package snapshot_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)

	pemPriv, err := snapshot.MarshalPrivateKey(priv)
	require.NoError(t, err)
	gotPriv, err := snapshot.ParsePrivateKey(pemPriv)
	require.NoError(t, err)
	require.Equal(t, priv, gotPriv)

	pemPub, err := snapshot.MarshalPublicKey(pub)
	require.NoError(t, err)
	gotPub, err := snapshot.ParsePublicKey(pemPub)
	require.NoError(t, err)
	require.Equal(t, pub, gotPub)

	seed, err := snapshot.ParsePrivateKey([]byte(base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"))
	require.NoError(t, err)
	require.Equal(t, priv, seed)
	full, err := snapshot.ParsePrivateKey([]byte(base64.StdEncoding.EncodeToString(priv)))
	require.NoError(t, err)
	require.Equal(t, priv, full)
	rawPub, err := snapshot.ParsePublicKey([]byte(base64.StdEncoding.EncodeToString(pub)))
	require.NoError(t, err)
	require.Equal(t, pub, rawPub)
}

func TestParseKeyErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short")),
		"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		_, err := snapshot.ParsePublicKey([]byte(in))
		require.ErrorIs(t, err, snapshot.ErrKey, "%q", in)
		_, err = snapshot.ParsePrivateKey([]byte(in))
		require.ErrorIs(t, err, snapshot.ErrKey, "%q", in)
	}
	// A private key where a public key is expected.
	_, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pemPriv, err := snapshot.MarshalPrivateKey(priv)
	require.NoError(t, err)
	_, err = snapshot.ParsePublicKey(pemPriv)
	require.ErrorIs(t, err, snapshot.ErrKey)
}

func TestLoadKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, priv, err := snapshot.EnsureKeyPair(dir)
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, "publisher.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	pub2, priv2, err := snapshot.EnsureKeyPair(dir)
	require.NoError(t, err)
	require.Equal(t, pub, pub2, "the pair is created once")
	require.Equal(t, priv, priv2)

	fromFile, err := snapshot.LoadPublicKey(filepath.Join(dir, "publisher.pub"))
	require.NoError(t, err)
	require.Equal(t, pub, fromFile)
	fromRaw, err := snapshot.LoadPublicKey(base64.StdEncoding.EncodeToString(pub))
	require.NoError(t, err)
	require.Equal(t, pub, fromRaw)
	pemPub, err := snapshot.MarshalPublicKey(pub)
	require.NoError(t, err)
	fromPEM, err := snapshot.LoadPublicKey(string(pemPub))
	require.NoError(t, err)
	require.Equal(t, pub, fromPEM)
	privFromFile, err := snapshot.LoadPrivateKey(filepath.Join(dir, "publisher.key"))
	require.NoError(t, err)
	require.Equal(t, priv, privFromFile)

	_, err = snapshot.LoadPublicKey(filepath.Join(dir, "absent.pub"))
	require.Error(t, err)
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	require.NoError(t, snapshot.WriteFileAtomic(path, []byte("one"), 0o644))
	require.NoError(t, snapshot.WriteFileAtomic(path, []byte("two"), 0o600))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(got))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")

	err = snapshot.WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644)
	require.Error(t, err)
}
