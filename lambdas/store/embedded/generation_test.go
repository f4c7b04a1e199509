package embedded

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// consumers returns a configuration of n consumers, each with a key-auth
// credential, named after prefix.
func consumers(prefix string, n int) *model.Config {
	cfg := &model.Config{}
	for i := range n {
		c := &model.Consumer{Base: model.Base{ID: fmt.Sprintf("00000000-0000-4000-a000-%s%011d", prefix, i)}, Username: model.String(fmt.Sprintf("%s-%d", prefix, i))}
		k := &model.KeyAuth{Base: model.Base{ID: fmt.Sprintf("00000000-0000-4000-9000-%s%011d", prefix, i)}, Key: fmt.Sprintf("key-%s-%d", prefix, i), Consumer: &model.Ref{ID: c.ID}}
		cfg.Add(c)
		cfg.Add(k)
	}
	return cfg
}

// generations lists the generation buckets in the file.
func generations(t *testing.T, s *Store) (cur string, all []string) {
	t.Helper()
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		cur = currentGeneration(tx)
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if len(name) > 2 && string(name[:2]) == "g:" {
				all = append(all, string(name[2:]))
			}
			return nil
		})
	}))
	return cur, all
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	require.NoError(t, err)
	return s
}

func TestReplaceInBatches(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "cp.db"))
	defer s.Close()
	s.batch = 7
	_, err := s.ReplaceAll(ctx, consumers("1", 3), store.Origin{})
	require.NoError(t, err)

	var seen []int
	next := consumers("2", 20)
	rev, err := s.ReplaceInBatches(ctx, next, []string{"import"}, store.Origin{}, func(written int) error {
		seen = append(seen, written)
		// Readers see the previous configuration while a replace stages.
		old, oldRev, err := s.Export(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), oldRev)
		require.Equal(t, 6, old.Len())
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(2), rev)
	require.Greater(t, len(seen), 4, "80 puts in batches of 7")
	require.IsNonDecreasing(t, seen)
	require.Equal(t, 7, seen[0])
	require.Equal(t, 40, seen[len(seen)-1])

	got, gotRev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, rev, gotRev)
	got.Sort()
	next.Sort()
	require.Equal(t, next, got)
	cur, all := generations(t, s)
	require.Equal(t, []string{cur}, all, "the replaced generation is deleted")

	// The staged entities are at the version of the revision that made
	// them current; a conditional update of that version goes through.
	c := next.Consumers[0]
	_, ver, err := s.GetVersioned(ctx, model.KindConsumer, c.ID)
	require.NoError(t, err)
	require.Equal(t, store.Version("2"), ver)
	c.CustomID = model.String("x")
	_, err = s.Update(ctx, c, ver, store.Origin{})
	require.NoError(t, err)
	_, err = s.Update(ctx, c, ver, store.Origin{})
	require.ErrorIs(t, err, store.ErrConflict)

	changes, err := s.Changes(ctx, 1, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"import"}, changes[0].Summary)
	_, err = s.ChangedSince(ctx, 1)
	require.ErrorIs(t, err, store.ErrLogGap, "a replace is a full revision in the change log")
}

// A write committed while a replace stages takes its own revision and
// is then replaced with the rest of the configuration, as dynamo.Store's
// CommitStaged replaces it.
func TestReplaceInBatchesAfterConcurrentWrite(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "cp.db"))
	defer s.Close()
	s.batch = 5
	_, err := s.ReplaceAll(ctx, consumers("1", 2), store.Origin{})
	require.NoError(t, err)

	meanwhile := consumers("3", 1)
	next := consumers("2", 6)
	var wrote int64
	rev, err := s.ReplaceInBatches(ctx, next, nil, store.Origin{}, func(int) error {
		if wrote == 0 {
			var err error
			meanwhile.Each(func(e model.Entity) {
				if err == nil {
					wrote, err = s.Create(ctx, e, store.Origin{})
				}
			})
			return err
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(3), wrote, "the writes between the batches")
	require.Equal(t, int64(4), rev, "the replace commits after them")

	got, gotRev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, rev, gotRev)
	got.Sort()
	next.Sort()
	require.Equal(t, next, got, "the replace holds its configuration only")
}

func TestReplaceInBatchesFailsMidway(t *testing.T) {
	for _, tc := range []struct {
		desc string
		stop func(ctx context.Context, cancel func(), written int) error
	}{
		{"progress error", func(_ context.Context, _ func(), written int) error {
			if written > 10 {
				return errors.New("stop")
			}
			return nil
		}},
		{"context canceled", func(_ context.Context, cancel func(), written int) error {
			if written > 10 {
				cancel()
			}
			return nil
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := openAt(t, filepath.Join(t.TempDir(), "cp.db"))
			defer s.Close()
			s.batch = 5
			before := consumers("1", 4)
			_, err := s.ReplaceAll(ctx, before, store.Origin{})
			require.NoError(t, err)
			_, err = s.ReplaceInBatches(ctx, consumers("2", 30), nil, store.Origin{}, func(written int) error {
				return tc.stop(ctx, cancel, written)
			})
			require.Error(t, err)

			got, rev, err := s.Export(context.Background())
			require.NoError(t, err)
			require.Equal(t, int64(1), rev, "nothing visible")
			got.Sort()
			before.Sort()
			require.Equal(t, before, got)
			cur, all := generations(t, s)
			require.Equal(t, []string{cur}, all, "what was staged is deleted")
		})
	}
}

func TestStagedGenerationDroppedOnOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cp.db")
	s := openAt(t, path)
	before := consumers("1", 2)
	_, err := s.ReplaceAll(ctx, before, store.Origin{})
	require.NoError(t, err)
	// A process that stops midway: a generation staged, never committed.
	r, err := planReplace(consumers("2", 10))
	require.NoError(t, err)
	gen, err := s.newGeneration()
	require.NoError(t, err)
	s.batch = 3
	require.NoError(t, s.stage(ctx, gen, r.runs()[:1], nil))
	_, all := generations(t, s)
	require.Len(t, all, 2)
	require.NoError(t, s.Close())

	s = openAt(t, path)
	defer s.Close()
	cur, all := generations(t, s)
	require.Equal(t, []string{cur}, all)
	require.NotEqual(t, gen, cur)
	got, rev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), rev)
	got.Sort()
	before.Sort()
	require.Equal(t, before, got)
	err = s.stage(ctx, gen, r.runs(), nil)
	require.ErrorIs(t, err, ErrStagedGone)
}

// A file written before generations keeps its entities at the top level;
// its first replace moves it to generations and deletes those buckets.
func TestTopLevelFileReplaced(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cp.db")
	s := openAt(t, path)
	defer s.Close()
	c := &model.Consumer{Base: model.Base{ID: "7d1c3a8e-2b4f-4e6a-8c1d-3f5e7a9b0c2d"}, Username: model.String("alice")}
	_, err := s.Create(ctx, c, store.Origin{})
	require.NoError(t, err)
	cur, _ := generations(t, s)
	require.Empty(t, cur, "a new file starts at the top level")

	_, err = s.ReplaceAll(ctx, consumers("1", 2), store.Origin{})
	require.NoError(t, err)
	_, err = s.Get(ctx, model.KindConsumer, "alice")
	require.Error(t, err)
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		require.Nil(t, tx.Bucket(entityBucket(model.KindConsumer)), "top-level buckets deleted")
		return nil
	}))
	_, err = s.Get(ctx, model.KindConsumer, "1-1")
	require.NoError(t, err)
}

// TestPlanReplaceFirstViolation: the violation reported is the one an
// insert in cfg.Each's order would meet first, unique values included
// though they are checked once sorted.
func TestPlanReplaceFirstViolation(t *testing.T) {
	t.Parallel()
	svc := func(id, name string) *model.Service {
		s := model.NewService()
		s.ID, s.Name, s.Host = id, model.String(name), "h"
		return s
	}
	route := func(id, service string) *model.Route {
		r := model.NewRoute()
		r.ID, r.Paths, r.Service = id, []string{"/"}, &model.Ref{ID: service}
		return r
	}
	cons := func(id, name string) *model.Consumer {
		return &model.Consumer{Base: model.Base{ID: id}, Username: model.String(name)}
	}
	key := func(id, k, consumer string) *model.KeyAuth {
		return &model.KeyAuth{Base: model.Base{ID: id}, Key: k, Consumer: &model.Ref{ID: consumer}}
	}
	for _, tc := range []struct {
		desc string
		cfg  *model.Config
		want string
	}{
		{"unique before a later reference",
			&model.Config{Services: []*model.Service{svc("s2", "x"), svc("s1", "x")}, Routes: []*model.Route{route("r", "ghost")}},
			"UNIQUE violation detected on '{name=\"x\"}'"},
		{"reference before a later unique",
			&model.Config{Services: []*model.Service{svc("s1", "a")}, Routes: []*model.Route{route("r", "ghost")}, Consumers: []*model.Consumer{cons("c1", "u"), cons("c2", "u")}},
			"the foreign key '{id=\"ghost\"}' does not reference an existing 'services' entity."},
		{"unique before the same entity's reference",
			&model.Config{Consumers: []*model.Consumer{cons("c", "u")}, KeyAuths: []*model.KeyAuth{key("k1", "k", "c"), key("k2", "k", "ghost")}},
			"UNIQUE violation detected on '{key=\"k\"}'"},
		{"primary key before a later unique",
			&model.Config{Services: []*model.Service{svc("s1", "a"), svc("s1", "b")}, Consumers: []*model.Consumer{cons("c1", "u"), cons("c2", "u")}},
			"primary key violation on key '{id=\"s1\"}'"},
		{"the first of several repeated values",
			&model.Config{Consumers: []*model.Consumer{cons("c1", "b"), cons("c2", "a"), cons("c3", "a"), cons("c4", "b")}},
			"UNIQUE violation detected on '{username=\"a\"}'"},
		{"a value repeated three times",
			&model.Config{Consumers: []*model.Consumer{cons("c1", "a"), cons("c2", "a"), cons("c3", "a")}},
			"UNIQUE violation detected on '{username=\"a\"}'"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := planReplace(tc.cfg)
			var me *model.Error
			require.ErrorAs(t, err, &me)
			require.Equal(t, tc.want, me.Message)
		})
	}
}
