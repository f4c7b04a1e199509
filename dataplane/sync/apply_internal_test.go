package sync

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// countingApplier runs revision rev and counts Apply calls.
type countingApplier struct {
	mu    stdsync.Mutex
	rev   int64
	calls int
}

func (a *countingApplier) Apply(_ context.Context, _ *model.Config, rev int64, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.rev = rev
	return nil
}

func (a *countingApplier) Current() (int64, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rev, ""
}

// TestApplyRefusesBadSnapshots checks each reason a snapshot is refused is
// reported distinctly and that the proxy is never asked to apply it.
func TestApplyRefusesBadSnapshots(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	_, otherPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)

	seal := func(t *testing.T, store objstore.Store, key ed25519.PrivateKey, doc *snapshot.Document) snapshot.Pointer {
		t.Helper()
		data, p, err := snapshot.Seal(doc, key, time.Now())
		require.NoError(t, err)
		_, err = store.Put(context.Background(), p.Key, data, objstore.Condition{})
		require.NoError(t, err)
		return p
	}
	tests := []struct {
		desc    string
		pointer func(t *testing.T, store objstore.Store) snapshot.Pointer
		want    error
	}{
		{
			desc: "bad signature",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				return seal(t, store, otherPriv, &snapshot.Document{Revision: 11})
			},
			want: snapshot.ErrSignature,
		},
		{
			desc: "bad digest",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				p := seal(t, store, priv, &snapshot.Document{Revision: 11})
				// Another digest, whatever the real one starts with.
				flip := "0"
				if p.SHA256[0] == '0' {
					flip = "1"
				}
				p.SHA256 = flip + p.SHA256[1:]
				return p
			},
			want: snapshot.ErrDigest,
		},
		{
			desc: "older revision",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				return seal(t, store, priv, &snapshot.Document{Revision: 9})
			},
			want: ErrNotNewer,
		},
		{
			desc: "same revision",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				return seal(t, store, priv, &snapshot.Document{Revision: 10})
			},
			want: ErrNotNewer,
		},
		{
			desc: "unknown format",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				return seal(t, store, priv, &snapshot.Document{Revision: 11, Format: "2.0"})
			},
			want: snapshot.ErrFormat,
		},
		{
			desc: "missing object",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				return snapshot.Pointer{Revision: 12, Key: snapshot.Key(12), Size: 100}
			},
			want: ErrFetch,
		},
		{
			desc: "no size",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				p := seal(t, store, priv, &snapshot.Document{Revision: 11})
				p.Size = 0
				return p
			},
			want: snapshot.ErrSize,
		},
		{
			desc: "size beyond the bound",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				p := seal(t, store, priv, &snapshot.Document{Revision: 11})
				p.Size = MaxSnapshot + 1
				return p
			},
			want: snapshot.ErrSize,
		},
		{
			desc: "object larger than announced",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				p := seal(t, store, priv, &snapshot.Document{Revision: 11})
				p.Size--
				return p
			},
			want: snapshot.ErrSize,
		},
		{
			desc: "key of another object",
			pointer: func(t *testing.T, store objstore.Store) snapshot.Pointer {
				p := seal(t, store, priv, &snapshot.Document{Revision: 11})
				p.Key = snapshot.LatestKey
				return p
			},
			want: snapshot.ErrCorrupt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			store, err := objstore.NewDir(t.TempDir())
			require.NoError(t, err)
			a := &countingApplier{rev: 10}
			c, err := New(Config{VerifyKey: pub, Fallback: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, a)
			require.NoError(t, err)

			err = c.apply(context.Background(), job{ptr: tt.pointer(t, store), source: SourceCP})
			require.ErrorIs(t, err, tt.want)
			for _, other := range []error{snapshot.ErrSignature, snapshot.ErrDigest, ErrNotNewer, snapshot.ErrFormat, ErrFetch, snapshot.ErrSize, snapshot.ErrCorrupt} {
				if other != tt.want {
					require.False(t, errors.Is(err, other), "%v is also %v", err, other)
				}
			}
			require.Zero(t, a.calls)
			rev, _ := a.Current()
			require.EqualValues(t, 10, rev)
		})
	}
}

func TestQueueKeepsNewest(t *testing.T) {
	t.Parallel()
	q := newQueue()
	require.True(t, q.offer(job{ptr: snapshot.Pointer{Revision: 3}}))
	require.True(t, q.offer(job{ptr: snapshot.Pointer{Revision: 5}}))
	require.False(t, q.offer(job{ptr: snapshot.Pointer{Revision: 4}}))
	j, ok := q.take()
	require.True(t, ok)
	require.EqualValues(t, 5, j.ptr.Revision)
	_, ok = q.take()
	require.False(t, ok)
}

// TestQueueKeepsEverySnapshotOfARevision: a forged announcement of a
// revision, queued first, does not displace the genuine one.
func TestQueueKeepsEverySnapshotOfARevision(t *testing.T) {
	t.Parallel()
	q := newQueue()
	forged := job{ptr: snapshot.Pointer{Revision: 5, SHA256: "forged"}}
	genuine := job{ptr: snapshot.Pointer{Revision: 5, SHA256: "genuine"}}
	require.True(t, q.offer(forged))
	require.True(t, q.offer(genuine))
	require.False(t, q.offer(genuine), "the same snapshot is held once")
	for i := range maxCandidates {
		q.offer(job{ptr: snapshot.Pointer{Revision: 5, SHA256: fmt.Sprint(i)}})
	}
	var got []string
	for j, ok := q.take(); ok; j, ok = q.take() {
		got = append(got, j.ptr.SHA256)
	}
	require.Equal(t, []string{"forged", "genuine", "0", "1"}, got)
}

// TestStatusReportsHealth: every status carries the targets' health the
// data plane gives, at most protocol.MaxHealth of them.
func TestStatusReportsHealth(t *testing.T) {
	t.Parallel()
	pub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	var health []protocol.TargetHealth
	for i := range protocol.MaxHealth + 10 {
		health = append(health, protocol.TargetHealth{UpstreamID: "u", Target: fmt.Sprintf("10.0.0.%d:80", i), Health: protocol.HealthHealthy})
	}
	c, err := New(Config{VerifyKey: pub, NodeID: "n", Health: func() []protocol.TargetHealth { return health },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &countingApplier{})
	require.NoError(t, err)
	st := c.statusMessage()
	require.Len(t, st.Health, protocol.MaxHealth)
	require.Equal(t, health[0], st.Health[0])

	c, err = New(Config{VerifyKey: pub, NodeID: "n", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &countingApplier{})
	require.NoError(t, err)
	require.Nil(t, c.statusMessage().Health)
}
