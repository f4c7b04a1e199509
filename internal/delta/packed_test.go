package delta_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// packedFixture is a sorted configuration of n services with a route
// each and n consumers with a key each (refs across lists, []string
// fields), decoded from JSON as a snapshot's is.
func packedFixture(t *testing.T, n int) *model.Config {
	t.Helper()
	cfg := &model.Config{}
	for i := range n {
		s := service(fmt.Sprintf("a0000000-0000-4000-a000-%012d", i), fmt.Sprintf("svc-%d", i))
		s.Tags = []string{"generated", fmt.Sprintf("svc-tag-%d", i)}
		cfg.Services = append(cfg.Services, s)
		cfg.Routes = append(cfg.Routes, route(fmt.Sprintf("c0000000-0000-4000-a000-%012d", i), s.ID, fmt.Sprintf("/r%d", i)))
		c := &model.Consumer{Username: model.String(fmt.Sprintf("user-%d", i))}
		c.ID = fmt.Sprintf("d0000000-0000-4000-a000-%012d", i)
		cfg.Consumers = append(cfg.Consumers, c)
		k := &model.KeyAuth{Key: fmt.Sprintf("key-%016x", i*7919), Consumer: &model.Ref{ID: c.ID}}
		k.ID = fmt.Sprintf("e0000000-0000-4000-a000-%012d", i)
		cfg.KeyAuths = append(cfg.KeyAuths, k)
	}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	var out model.Config
	require.NoError(t, json.Unmarshal(raw, &out))
	out.Sort()
	return &out
}

// randomChange is a change to a configuration of packedFixture(n):
// routes updated (their paths and tags grown) or deleted, services
// updated, consumers and their keys deleted or created.
func randomChange(rng *rand.Rand, n, step int) (*model.Config, map[model.Kind][]string) {
	u := &model.Config{}
	dels := map[model.Kind][]string{}
	for range 1 + rng.IntN(8) {
		i := rng.IntN(n + 4) // past n: created
		rid, sid := fmt.Sprintf("c0000000-0000-4000-a000-%012d", i), fmt.Sprintf("a0000000-0000-4000-a000-%012d", i)
		switch rng.IntN(5) {
		case 0:
			r := route(rid, sid, fmt.Sprintf("/r%d", i), fmt.Sprintf("/step-%d", step))
			r.Tags = []string{fmt.Sprintf("write-%d", step)}
			u.Routes = append(u.Routes, r)
		case 1:
			dels[model.KindRoute] = append(dels[model.KindRoute], rid)
		case 2:
			u.Services = append(u.Services, service(sid, fmt.Sprintf("svc-%d-step-%d", i, step)))
		case 3:
			dels[model.KindConsumer] = append(dels[model.KindConsumer], fmt.Sprintf("d0000000-0000-4000-a000-%012d", i))
			dels[model.KindKeyAuth] = append(dels[model.KindKeyAuth], fmt.Sprintf("e0000000-0000-4000-a000-%012d", i))
		default:
			c := &model.Consumer{Username: model.String(fmt.Sprintf("user-%d-step-%d", i, step))}
			c.ID = fmt.Sprintf("d0000000-0000-4000-a000-%012d", i)
			k := &model.KeyAuth{Key: fmt.Sprintf("key-%d-step-%d", i, step), Consumer: &model.Ref{ID: c.ID}}
			k.ID = fmt.Sprintf("e0000000-0000-4000-a000-%012d", i)
			u.Consumers, u.KeyAuths = append(u.Consumers, c), append(u.KeyAuths, k)
		}
	}
	u.Sort()
	// One upsert an id, and an id both deleted and upserted upserted (a
	// change log names an entity once).
	u.Routes = slices.CompactFunc(u.Routes, sameID)
	u.Services = slices.CompactFunc(u.Services, sameID)
	u.Consumers = slices.CompactFunc(u.Consumers, sameID)
	u.KeyAuths = slices.CompactFunc(u.KeyAuths, sameID)
	upserted := map[string]bool{}
	u.Each(func(e model.Entity) { upserted[e.Meta().ID] = true })
	for k, ids := range dels {
		slices.Sort(ids)
		dels[k] = slices.DeleteFunc(slices.Compact(ids), func(id string) bool { return upserted[id] })
	}
	return u, dels
}

func sameID[T model.Entity](a, b T) bool { return a.Meta().ID == b.Meta().ID }

// TestPatchPackedBase: a chain of random changes applied to a packed
// base (model.Config.Pack, as a publisher and a data plane hold it) and
// to the same base unpacked gives the same configurations, digests and
// entities seen (a history's summary), and leaves both bases unchanged.
func TestPatchPackedBase(t *testing.T) {
	t.Parallel()
	const n = 300
	plain, packed := packedFixture(t, n), packedFixture(t, n)
	packed.Pack()
	want, err := json.Marshal(plain)
	require.NoError(t, err)
	dPlain, err := snapshot.DigestOf(plain)
	require.NoError(t, err)
	dPacked, err := snapshot.DigestOf(packed)
	require.NoError(t, err)
	require.Equal(t, dPlain.Hash(), dPacked.Hash())
	basePlain, basePacked := plain, packed
	rng := rand.New(rand.NewPCG(15, 27))
	for step := range 40 {
		u, dels := randomChange(rng, n, step)
		var seenPlain, seenPacked []model.Entity
		nextPlain, nextDPlain, err := delta.PatchSeen(plain, dPlain, u, dels, func(b, a model.Entity) { seenPlain = append(seenPlain, b, a) })
		require.NoError(t, err, "step %d", step)
		nextPacked, nextDPacked, err := delta.PatchSeen(packed, dPacked, u, dels, func(b, a model.Entity) { seenPacked = append(seenPacked, b, a) })
		require.NoError(t, err, "step %d", step)
		require.Equal(t, nextDPlain.Hash(), nextDPacked.Hash(), "step %d", step)
		gotPlain, err := json.Marshal(nextPlain)
		require.NoError(t, err)
		gotPacked, err := json.Marshal(nextPacked)
		require.NoError(t, err)
		require.Equal(t, string(gotPlain), string(gotPacked), "step %d", step)
		sp, err := json.Marshal(seenPlain)
		require.NoError(t, err)
		sk, err := json.Marshal(seenPacked)
		require.NoError(t, err)
		require.Equal(t, string(sp), string(sk), "step %d", step)
		full, err := snapshot.DigestOf(nextPacked)
		require.NoError(t, err)
		require.Equal(t, full.Hash(), nextDPacked.Hash(), "step %d: the digest kept is the configuration's", step)
		plain, dPlain, packed, dPacked = nextPlain, nextDPlain, nextPacked, nextDPacked
	}
	final, err := json.Marshal(packed)
	require.NoError(t, err)
	require.NotEqual(t, string(want), string(final), "the changes changed nothing")
	for _, base := range []*model.Config{basePlain, basePacked} {
		got, err := json.Marshal(base)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "a base was changed by the patches")
	}
}
