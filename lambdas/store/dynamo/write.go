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
		t := s.newTxn(st)
		if err := t.insert(st.gen, e); err != nil {
			return 0, err
		}
		return s.commit(ctx, st, t, "", []string{store.Summary("create", e)}, o)
	})
}

// Update implements store.Store. The version is checked on the item read
// and again by the entity's condition in the transaction that raises the
// revision; a version from a generation since replaced is out of date.
func (s *Store) Update(ctx context.Context, e model.Entity, ver store.Version, o store.Origin) (int64, error) {
	k, id := e.Kind(), e.Meta().ID
	if id == "" {
		return 0, fmt.Errorf("updating %s: the entity has no id", k)
	}
	return retry(ctx, &s.mu, func(ctx context.Context) (int64, error) {
		st, err := s.state(ctx)
		if err != nil {
			return 0, err
		}
		cur, err := s.get(ctx, st.gen, k, id)
		if err != nil {
			return 0, err
		}
		if cur.Entity == nil {
			return 0, store.NotFound(k, id)
		}
		if encodeVersion(st.gen, cur.ver) != ver {
			return 0, fmt.Errorf("updating %s %s: %w", k, id, store.ErrConflict)
		}
		t := s.newTxn(st)
		if err := t.replace(st.gen, cur, e); err != nil {
			return 0, err
		}
		return s.commit(ctx, st, t, "", []string{store.Summary("update", e)}, o)
	})
}

// Delete implements store.Store. The cascade and the restricting
// references are read at the revision the deleting transaction is
// conditioned on. A cascade too large for one transaction is committed as
// a new generation, still as one revision.
func (s *Store) Delete(ctx context.Context, k model.Kind, id string, ver store.Version, o store.Origin) (int64, error) {
	if !k.Valid() {
		return 0, fmt.Errorf("deleting %s %s: unknown kind", k, id)
	}
	return retry(ctx, &s.mu, func(ctx context.Context) (int64, error) {
		st, err := s.state(ctx)
		if err != nil {
			return 0, err
		}
		root, err := s.get(ctx, st.gen, k, id)
		if err != nil || root.Entity == nil {
			return st.rev, err
		}
		if ver != store.AnyVersion && encodeVersion(st.gen, root.ver) != ver {
			return 0, fmt.Errorf("deleting %s %s: %w", k, id, store.ErrConflict)
		}
		doomed, err := s.deletion(ctx, st.gen, root)
		if err != nil {
			return 0, err
		}
		t := s.newTxn(st)
		summary := make([]string, 0, len(doomed))
		for _, v := range doomed {
			t.remove(st.gen, v)
			summary = append(summary, store.Summary("delete", v.Entity))
		}
		if len(t.items)+commitItems > maxItems {
			return s.deleteBySwap(ctx, st, doomed, summary, o)
		}
		return s.commit(ctx, st, t, "", summary, o)
	})
}

// deletion returns root and every entity its deletion cascades to, or the
// error of a referrer that restricts it.
func (s *Store) deletion(ctx context.Context, gen string, root versioned) ([]versioned, error) {
	seen := map[string]bool{string(root.Kind()) + "/" + root.Meta().ID: true}
	out := []versioned{root}
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
				if child.Entity != nil {
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
func (s *Store) deleteBySwap(ctx context.Context, st state, doomed []versioned, summary []string, o store.Origin) (int64, error) {
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
