package publisher_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/storetest"
)

// TestIncrementalFullEqualsExported: a scheduled full snapshot, sealed
// from the configuration the publisher holds (the previous full snapshot
// with the change log applied since, warm or read back by a cold
// publisher), is the one a publisher exporting the whole store seals for
// the same revision: the same bytes (digest, size, signature), the same
// configuration hash and digest. Random writes of services, consumers and
// their key-auth credentials, several per publication.
func TestIncrementalFullEqualsExported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pubKey, priv := newKey(t)
	st := chainStore(t)
	clk := fixedClock(t0)
	incremental, exported := newDir(t), newDir(t)
	opts := publisher.Options{Source: st, Objects: incremental, Key: priv, FullEvery: 3, FullRatio: 100, Clock: clk, Logger: quiet()}
	p := publisher.New(opts)
	whole := publisher.New(publisher.Options{Source: storetest.ExportOnly{Store: st}, Objects: exported, Key: priv, FullEvery: 1, Clock: clk, Logger: quiet()})
	origin := store.Origin{RequestID: "test"}
	rng := rand.New(rand.NewPCG(15, 3))
	services, consumers := map[int]bool{}, map[int]bool{}
	fulls := 0
	for step := range 40 {
		for range 1 + rng.IntN(4) {
			n := rng.IntN(10)
			switch {
			case rng.IntN(2) == 0 && services[n] && rng.IntN(3) == 0:
				_, err := st.Delete(ctx, model.KindService, numberedService(n, "").ID, store.AnyVersion, origin)
				require.NoError(t, err)
				delete(services, n)
			case rng.IntN(2) == 0 && services[n]:
				_, ver, err := st.GetVersioned(ctx, model.KindService, numberedService(n, "").ID)
				require.NoError(t, err)
				_, err = st.Update(ctx, numberedService(n, fmt.Sprintf("h%d.example.com", step)), ver, origin)
				require.NoError(t, err)
			case !services[n]:
				_, err := st.Create(ctx, numberedService(n, "example.com"), origin)
				require.NoError(t, err)
				services[n] = true
			case consumers[n]:
				// Deleting the consumer deletes its credentials (a cascade).
				_, err := st.Delete(ctx, model.KindConsumer, consumerWithKeys(n, 0)[0].Meta().ID, store.AnyVersion, origin)
				require.NoError(t, err)
				delete(consumers, n)
			default:
				for _, e := range consumerWithKeys(n, 1+rng.IntN(2)) {
					_, err := st.Create(ctx, e, origin)
					require.NoError(t, err)
				}
				consumers[n] = true
			}
		}
		if rng.IntN(6) == 0 {
			p = publisher.New(opts) // cold: the base is read back from the full snapshot and its chain
		}
		ptr, err := p.Publish(ctx)
		require.NoError(t, err)
		// The hash the publisher kept from its digest (before the
		// exporting publisher records its own).
		hash, _, ok, err := st.ConfigHash(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		want, err := whole.Publish(ctx)
		require.NoError(t, err)
		require.Equal(t, want.Revision, ptr.Revision)
		if ptr.Full != 0 {
			continue // chained: no full snapshot of this revision
		}
		fulls++
		require.Equal(t, want.Key, ptr.Key, "step %d", step)
		require.Equal(t, want.SHA256, ptr.SHA256, "step %d: the same bytes", step)
		require.Equal(t, want.Size, ptr.Size, "step %d", step)
		require.Equal(t, want.Signature, ptr.Signature, "step %d", step)
		got, wantCfg := configAt(t, incremental, ptr, pubKey), configAt(t, exported, want, pubKey)
		require.Equal(t, snapshot.ConfigHash(wantCfg), snapshot.ConfigHash(got), "step %d", step)
		gotDigest, err := snapshot.DigestOf(got)
		require.NoError(t, err)
		wantDigest, err := snapshot.DigestOf(wantCfg)
		require.NoError(t, err)
		require.Equal(t, wantDigest, gotDigest, "step %d", step)
		require.Equal(t, snapshot.ConfigHash(wantCfg), hash, "step %d: the hash the publisher kept", step)
	}
	require.Greater(t, fulls, 8, "scheduled full snapshots compared")
}

// sealLog keeps the segment counts of the "sealed a full snapshot"
// records, in order.
type sealLog struct {
	mu    sync.Mutex
	seals [][2]int64 // reused, segments
}

func (l *sealLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *sealLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *sealLog) WithGroup(string) slog.Handler            { return l }
func (l *sealLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sealed a full snapshot" {
		return nil
	}
	var s [2]int64
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "reused":
			s[0] = a.Value.Int64()
		case "segments":
			s[1] = a.Value.Int64()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seals = append(l.seals, s)
	return nil
}

func (l *sealLog) last() (reused, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seals[len(l.seals)-1]
	return s[0], s[1]
}

// TestScheduledFullReusesSegments: a scheduled full snapshot of a warm
// publisher compresses again only the segments of the entities written
// since the last one (the first full snapshot, sealed from an export and
// packed after, included), and is the bytes a publisher exporting the
// whole store seals.
func TestScheduledFullReusesSegments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	st := chainStore(t)
	cfg := &model.Config{}
	for n := range 4000 {
		for _, e := range consumerWithKeys(n, 1) {
			cfg.Add(e)
		}
	}
	origin := store.Origin{RequestID: "test"}
	_, err := st.ReplaceAll(ctx, cfg, origin)
	require.NoError(t, err)
	log := &sealLog{}
	clk := fixedClock(t0)
	p := publisher.New(publisher.Options{Source: st, Objects: newDir(t), Key: priv, FullEvery: 4, FullRatio: 100,
		Clock: clk, Logger: slog.New(log)})
	whole := publisher.New(publisher.Options{Source: storetest.ExportOnly{Store: st}, Objects: newDir(t), Key: priv, FullEvery: 1, Clock: clk, Logger: quiet()})
	_, err = p.Publish(ctx)
	require.NoError(t, err)
	reused, total := log.last()
	require.Zero(t, reused, "the first full snapshot: nothing to reuse")
	require.Greater(t, total, int64(12), "two lists of several segments each")
	for round := range 3 {
		for i := range 4 {
			// A consumer renamed: one segment of the consumers.
			c := consumerWithKeys(97*round+13*i, 0)[0].(*model.Consumer)
			_, ver, err := st.GetVersioned(ctx, model.KindConsumer, c.ID)
			require.NoError(t, err)
			c.Username = model.String(fmt.Sprintf("renamed-%d-%d", round, i))
			_, err = st.Update(ctx, c, ver, origin)
			require.NoError(t, err)
			ptr, err := p.Publish(ctx)
			require.NoError(t, err)
			if ptr.Full != 0 {
				continue
			}
			reused, total = log.last()
			require.Equal(t, int64(len(log.seals)), int64(round+2), "one full snapshot per round")
			require.LessOrEqual(t, total-reused, int64(4), "round %d: only the segments written are compressed again", round)
			want, err := whole.Publish(ctx)
			require.NoError(t, err)
			require.Equal(t, want.SHA256, ptr.SHA256, "round %d: the bytes of an export's seal", round)
			require.Equal(t, want.Signature, ptr.Signature)
		}
	}
	require.Len(t, log.seals, 4)
}
