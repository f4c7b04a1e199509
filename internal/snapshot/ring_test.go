package snapshot_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

func b64(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

func pemOf(t *testing.T, k ed25519.PublicKey) string {
	t.Helper()
	p, err := snapshot.MarshalPublicKey(k)
	require.NoError(t, err)
	return string(p)
}

// TestKeyRing: while the publisher's key rotates, a data plane given both
// keys accepts snapshots signed by either, and nothing else.
func TestKeyRing(t *testing.T) {
	t.Parallel()
	oldPub, oldPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	newPub, newPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	_, strangerPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	now := time.Unix(1795239000, 0)

	dir := t.TempDir()
	file := filepath.Join(dir, "keys.pem")
	require.NoError(t, os.WriteFile(file, []byte(pemOf(t, oldPub)+pemOf(t, newPub)), 0o600))
	forms := []struct{ desc, value string }{
		{"the stack's VerifyKey output", b64(oldPub) + "," + b64(newPub)},
		{"base64 keys on lines", b64(oldPub) + "\n" + b64(newPub) + "\n"},
		{"PEM blocks one after another", pemOf(t, oldPub) + pemOf(t, newPub)},
		{"a file of PEM blocks", file},
	}
	for _, f := range forms {
		t.Run(f.desc, func(t *testing.T) {
			t.Parallel()
			ring, err := snapshot.LoadPublicKey(f.value)
			require.NoError(t, err)
			require.Equal(t, []ed25519.PublicKey{oldPub, newPub}, snapshot.RingKeys(ring))
			for _, priv := range []ed25519.PrivateKey{oldPriv, newPriv} {
				data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: 7}, priv, now)
				require.NoError(t, err)
				_, err = snapshot.Open(data, ptr, ring)
				require.NoError(t, err)
			}
			data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: 7}, strangerPriv, now)
			require.NoError(t, err)
			_, err = snapshot.Open(data, ptr, ring)
			require.ErrorIs(t, err, snapshot.ErrSignature)
		})
	}
}

func TestKeyRingErrors(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: 1}, priv, time.Unix(1795239000, 0))
	require.NoError(t, err)
	five := strings.Repeat(b64(pub)+",", 5)
	tests := []struct{ desc, value string }{
		{"empty", ""},
		{"commas only", ",,"},
		{"one bad key among good ones", b64(pub) + ",AAAA"},
		{"more keys than a rotation needs", five},
		{"text after a PEM block", pemOf(t, pub) + "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := snapshot.ParsePublicKeys([]byte(tc.value))
			require.ErrorIs(t, err, snapshot.ErrKey)
		})
	}
	for _, ring := range []ed25519.PublicKey{nil, pub[:31], snapshot.KeyRing(pub, pub, pub, pub, pub), append(snapshot.KeyRing(pub), 1)} {
		_, err := snapshot.Open(data, ptr, ring)
		require.ErrorIs(t, err, snapshot.ErrSignature, "a malformed ring of %d bytes", len(ring))
	}
}
