package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Get implements store.Store. For targets, idOrKey may also be
// "<upstream id>:<target>" or a bare target (the first by id).
func (s *Store) Get(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, error) {
	e, _, err := s.GetVersioned(ctx, k, idOrKey)
	return e, err
}

// GetVersioned implements store.Store.
func (s *Store) GetVersioned(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, store.Version, error) {
	if !k.Valid() {
		return nil, "", fmt.Errorf("getting %s: unknown kind", k)
	}
	var e model.Entity
	var ver store.Version
	err := s.db.View(func(tx *bolt.Tx) error {
		t := current(tx)
		var err error
		if e, err = t.lookup(k, idOrKey); e != nil {
			ver = t.version(k, e.Meta().ID)
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("reading %s %s: %w", k, idOrKey, err)
	}
	if e == nil {
		return nil, "", store.NotFound(k, idOrKey)
	}
	return e, ver, nil
}

// lookup finds the entity of kind k by id or endpoint key; nil if none.
func (t txn) lookup(k model.Kind, idOrKey string) (model.Entity, error) {
	if e, err := t.get(k, idOrKey); e != nil || err != nil {
		return e, err
	}
	field := k.Info().EndpointKey
	if field == "" {
		return nil, nil
	}
	if id := t.bucket(uniqueBucket(k)).Get(uniqueKey(model.UniqueKey{Field: field, Value: idOrKey})); id != nil {
		return t.get(k, string(id))
	}
	if k == model.KindTarget && !store.QualifiedTarget(idOrKey) {
		return t.firstTarget(idOrKey)
	}
	return nil, nil
}

func (t txn) firstTarget(target string) (model.Entity, error) {
	c := t.bucket(entityBucket(model.KindTarget)).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e, err := store.DecodeEntity(model.KindTarget, v)
		if err != nil {
			return nil, err
		}
		if e.(*model.Target).Target == target {
			return e, nil
		}
	}
	return nil, nil
}

// List implements store.Store: entities in id order.
func (s *Store) List(ctx context.Context, k model.Kind, opts store.ListOptions) (store.Page, error) {
	if !k.Valid() {
		return store.Page{}, fmt.Errorf("listing %s: unknown kind", k)
	}
	after := ""
	if opts.Offset != "" {
		var err error
		if after, err = store.DecodeOffset(opts.Offset); err != nil {
			return store.Page{}, err
		}
	}
	var page store.Page
	err := s.db.View(func(tx *bolt.Tx) error {
		t := current(tx)
		var err error
		switch {
		case opts.Unique != nil:
			page, err = listUnique(t, k, after, opts)
		case opts.Parent != nil && opts.Parent.Kind != "":
			page, err = listChildren(t, k, after, opts)
		default:
			page, err = listAll(t, k, after, opts)
		}
		return err
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("listing %s: %w", k, err)
	}
	return page, nil
}

// listUnique returns the page of the one entity holding opts.Unique, by
// the unique index.
func listUnique(t txn, k model.Kind, after string, opts store.ListOptions) (store.Page, error) {
	id := t.bucket(uniqueBucket(k)).Get(uniqueKey(*opts.Unique))
	if id == nil || (after != "" && string(id) <= after) {
		return store.Page{}, nil
	}
	e, err := t.get(k, string(id))
	if err != nil || e == nil || !opts.Matches(e) {
		return store.Page{}, err
	}
	return store.Page{Items: []model.Entity{e}}, nil
}

// listAll pages through the entity bucket of kind k from after.
func listAll(t txn, k model.Kind, after string, opts store.ListOptions) (store.Page, error) {
	var p pager
	p.size = opts.PageSize()
	c := t.bucket(entityBucket(k)).Cursor()
	key, v := c.First()
	if after != "" {
		key, v = c.Seek([]byte(after))
		if key != nil && bytes.Equal(key, []byte(after)) {
			key, v = c.Next()
		}
	}
	for ; key != nil; key, v = c.Next() {
		e, err := store.DecodeEntity(k, v)
		if err != nil {
			return store.Page{}, err
		}
		if opts.Matches(e) && !p.add(e) {
			break
		}
	}
	return p.page, nil
}

// listChildren pages through the entities of kind k that reference
// opts.Parent, by the reference index (whose keys for one parent and
// kind are in referrer id order), reading only those entities.
func listChildren(t txn, k model.Kind, after string, opts store.ListOptions) (store.Page, error) {
	var p pager
	p.size = opts.PageSize()
	parent := opts.Parent
	prefix := []byte(string(parent.Kind) + "\x00" + parent.ID + "\x00" + string(k) + "\x00")
	entities := t.bucket(entityBucket(k))
	c := t.bucket(refsBucket).Cursor()
	for key, _ := c.Seek(append(bytes.Clone(prefix), after...)); key != nil && bytes.HasPrefix(key, prefix); key, _ = c.Next() {
		id, field, ok := bytes.Cut(key[len(prefix):], []byte{0})
		if !ok || string(field) != parent.Field || (after != "" && string(id) <= after) {
			continue
		}
		v := entities.Get(id)
		if v == nil {
			return store.Page{}, fmt.Errorf("the reference index names %s %s, which does not exist", k, id)
		}
		e, err := store.DecodeEntity(k, v)
		if err != nil {
			return store.Page{}, err
		}
		if opts.Matches(e) && !p.add(e) {
			break
		}
	}
	return p.page, nil
}

// pager fills one page; add reports false once the page is full and the
// entity offered proved that more follow.
type pager struct {
	size int
	page store.Page
}

func (p *pager) add(e model.Entity) bool {
	if len(p.page.Items) == p.size {
		p.page.Next = store.EncodeOffset(p.page.Items[p.size-1].Meta().ID)
		return false
	}
	p.page.Items = append(p.page.Items, e)
	return true
}

// Export implements store.Store: one read transaction.
func (s *Store) Export(ctx context.Context) (*model.Config, int64, error) {
	cfg := &model.Config{}
	var rev int64
	err := s.db.View(func(tx *bolt.Tx) error {
		rev = revisionOf(tx)
		t := current(tx)
		// The pages read are given back as the export goes (every
		// Options.ReleaseEvery entities, and at the end): the entities decoded
		// hold copies of what they need.
		defer releasePages(tx)
		n := 0
		for _, k := range model.Kinds {
			err := t.bucket(entityBucket(k)).ForEach(func(_, v []byte) error {
				e, err := store.DecodeEntity(k, v)
				if err != nil {
					return err
				}
				cfg.Add(e)
				if n++; n%s.releaseEvery == 0 {
					releasePages(tx)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("exporting configuration: %w", err)
	}
	return cfg, rev, nil
}

// Changes implements store.Store; limit 0 means 100.
func (s *Store) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.Change
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(changesBucket).Cursor()
		for k, v := c.Seek(revKey(since + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var ch store.Change
			if err := json.Unmarshal(v, &ch); err != nil {
				return fmt.Errorf("decoding change: %w", err)
			}
			out = append(out, ch)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading changes since %d: %w", since, err)
	}
	return out, nil
}
