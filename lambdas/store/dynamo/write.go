package dynamo

import (
	"context"
	"fmt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, e model.Entity, o store.Origin) (int64, error) {
	if e.Meta().ID == "" {
		return 0, fmt.Errorf("creating %s: the entity has no id", e.Kind())
	}
	return retry(ctx, &s.mu, func(ctx context.Context) (int64, error) {
		st, err := s.state(ctx)
		if err != nil {
			return 0, err
		}
		t := &txn{table: s.table}
		if err := t.insert(st.gen, e); err != nil {
			return 0, err
		}
		return s.commit(ctx, st, t, "", []string{store.Summary("create", e)}, o)
	})
}

// upserted is the outcome of one Upsert attempt.
type upserted struct {
	rev     int64
	created bool
}

// Upsert implements store.Store.
func (s *Store) Upsert(ctx context.Context, e model.Entity, o store.Origin) (int64, bool, error) {
	if e.Meta().ID == "" {
		return 0, false, fmt.Errorf("upserting %s: the entity has no id", e.Kind())
	}
	u, err := retry(ctx, &s.mu, func(ctx context.Context) (upserted, error) {
		st, err := s.state(ctx)
		if err != nil {
			return upserted{}, err
		}
		old, err := s.get(ctx, st.gen, e.Kind(), e.Meta().ID)
		if err != nil {
			return upserted{}, err
		}
		t := &txn{table: s.table}
		verb := "create"
		if old == nil {
			err = t.insert(st.gen, e)
		} else {
			verb = "update"
			err = t.replace(st.gen, old, e)
		}
		if err != nil {
			return upserted{}, err
		}
		rev, err := s.commit(ctx, st, t, "", []string{store.Summary(verb, e)}, o)
		return upserted{rev, old == nil}, err
	})
	return u.rev, u.created, err
}

// Delete implements store.Store. A cascade too large for one transaction
// is committed as a new generation, still as one revision.
func (s *Store) Delete(ctx context.Context, k model.Kind, id string, o store.Origin) (int64, error) {
	if !k.Valid() {
		return 0, fmt.Errorf("deleting %s %s: unknown kind", k, id)
	}
	return retry(ctx, &s.mu, func(ctx context.Context) (int64, error) {
		st, err := s.state(ctx)
		if err != nil {
			return 0, err
		}
		root, err := s.get(ctx, st.gen, k, id)
		if err != nil || root == nil {
			return st.rev, err
		}
		doomed, err := s.deletion(ctx, st.gen, root)
		if err != nil {
			return 0, err
		}
		t := &txn{table: s.table}
		summary := make([]string, 0, len(doomed))
		for _, e := range doomed {
			t.remove(st.gen, e)
			summary = append(summary, store.Summary("delete", e))
		}
		if len(t.items)+2 > maxItems {
			return s.deleteBySwap(ctx, st, doomed, summary, o)
		}
		return s.commit(ctx, st, t, "", summary, o)
	})
}

// deletion returns root and every entity its deletion cascades to, or the
// error of a referrer that restricts it.
func (s *Store) deletion(ctx context.Context, gen string, root model.Entity) ([]model.Entity, error) {
	seen := map[string]bool{string(root.Kind()) + "/" + root.Meta().ID: true}
	out := []model.Entity{root}
	for i := 0; i < len(out); i++ {
		e := out[i]
		refs, err := s.referrers(ctx, gen, e.Kind(), e.Meta().ID)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if store.OnDeleteOf(r.kind, r.field) == store.Restrict {
				return nil, store.ReferencedBy(e.Kind(), e.Meta().ID, r.kind, r.id, r.field)
			}
			if key := string(r.kind) + "/" + r.id; !seen[key] {
				seen[key] = true
				child, err := s.get(ctx, gen, r.kind, r.id)
				if err != nil {
					return nil, err
				}
				if child != nil {
					out = append(out, child)
				}
			}
		}
	}
	return out, nil
}

// deleteBySwap commits a large cascade: the current configuration without
// the doomed entities becomes a new generation, provided the revision is
// still st's.
func (s *Store) deleteBySwap(ctx context.Context, st state, doomed []model.Entity, summary []string, o store.Origin) (int64, error) {
	cfg, rev, err := s.exportAt(ctx, st)
	if err != nil {
		return 0, err
	}
	if rev != st.rev {
		return 0, errConflict
	}
	gone := map[string]bool{}
	for _, e := range doomed {
		gone[string(e.Kind())+"/"+e.Meta().ID] = true
	}
	rest := &model.Config{}
	cfg.Each(func(e model.Entity) {
		if !gone[string(e.Kind())+"/"+e.Meta().ID] {
			rest.Add(e)
		}
	})
	return s.swap(ctx, st, rest, summary, o)
}
