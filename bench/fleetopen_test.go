package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// TestSharedDecoder: the decoded document is shared by digest, yet every
// caller's bytes are verified against its own pointer, and a pointer
// that lies about the revision is refused even when the digest is known.
func TestSharedDecoder(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	data, p, err := snapshot.Seal(&snapshot.Document{Revision: 3}, priv, time.Now())
	require.NoError(t, err)
	s := newSharedDecoder()

	a, err := s.OpenSnapshot(data, p, pub)
	require.NoError(t, err)
	b, err := s.OpenSnapshot(append([]byte(nil), data...), p, pub)
	require.NoError(t, err)
	require.Same(t, a, b)
	require.Equal(t, snapshot.ConfigHash(&a.Config), s.hash(&a.Config))

	tampered := append([]byte(nil), data...)
	tampered[len(tampered)-1] ^= 1
	_, err = s.OpenSnapshot(tampered, p, pub)
	require.Error(t, err)

	_, other, err := snapshot.GenerateKey()
	require.NoError(t, err)
	_, forged, err := snapshot.Seal(&snapshot.Document{Revision: 3}, other, time.Now())
	require.NoError(t, err)
	_, err = s.OpenSnapshot(data, forged, pub)
	require.Error(t, err, "a pointer signed by another key")

	lying := p
	lying.Revision = 4
	_, err = s.OpenSnapshot(data, lying, pub)
	require.ErrorIs(t, err, snapshot.ErrRevision)
}
