package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// loadFill is the fill percent of the pages a replace writes: it writes
// keys in order into empty buckets, so its pages can be nearly full.
const loadFill = 0.95

// replacement is a whole configuration checked and ready to be written:
// its entities grouped by kind, and every index key, each group sorted.
//
// bbolt keeps a bucket's uncommitted keys in one sorted slice per node and
// splits nodes only at commit: keys put in random order move half that
// slice on every put, which made a load of n entities cost n² moves. A
// replacement writes every bucket in key order, so each put appends.
type replacement struct {
	byKind map[model.Kind][]model.Entity
	unique map[model.Kind][]kv
	refs   [][]byte
}

type kv struct{ key, value []byte }

// planReplace checks cfg as inserting its entities one by one, in
// cfg.Each's order, into an empty store would: a repeated id is a primary
// key violation, a repeated unique value a unique violation, and a
// reference to an entity not inserted before it a foreign key violation.
func planReplace(cfg *model.Config) (*replacement, error) {
	r := &replacement{byKind: map[model.Kind][]model.Entity{}, unique: map[model.Kind][]kv{}}
	ids := map[model.Kind]map[string]struct{}{}
	owners := map[model.Kind]map[string]string{}
	var err error
	cfg.Each(func(e model.Entity) {
		if err != nil {
			return
		}
		k, id := e.Kind(), e.Meta().ID
		if id == "" {
			err = fmt.Errorf("replacing the configuration: a %s has no id", k)
			return
		}
		if ids[k] == nil {
			ids[k], owners[k] = map[string]struct{}{}, map[string]string{}
		}
		if _, dup := ids[k][id]; dup {
			err = store.PrimaryKeyViolation(id)
			return
		}
		uniques, refs := e.UniqueKeys(), e.References()
		keys := make([][]byte, len(uniques))
		for i, u := range uniques {
			keys[i] = uniqueKey(u)
			if owner, taken := owners[k][string(keys[i])]; taken && owner != id {
				err = store.UniqueViolation(e, u)
				return
			}
		}
		for _, ref := range refs {
			if _, ok := ids[ref.Kind][ref.ID]; !ok {
				err = store.ForeignKeyViolation(ref)
				return
			}
		}
		ids[k][id] = struct{}{}
		for _, key := range keys {
			owners[k][string(key)] = id
			r.unique[k] = append(r.unique[k], kv{key, []byte(id)})
		}
		for _, ref := range refs {
			r.refs = append(r.refs, refKey(ref, e))
		}
		r.byKind[k] = append(r.byKind[k], e)
	})
	if err != nil {
		return nil, err
	}
	for _, list := range r.byKind {
		slices.SortFunc(list, func(a, b model.Entity) int { return cmp.Compare(a.Meta().ID, b.Meta().ID) })
	}
	for _, list := range r.unique {
		slices.SortFunc(list, func(a, b kv) int { return bytes.Compare(a.key, b.key) })
	}
	slices.SortFunc(r.refs, bytes.Compare)
	return r, nil
}

// run is a sequence of puts into one bucket of a generation, in key
// order; entities counts the entities it writes (for progress).
type run struct {
	bucket   []byte
	n        int
	entities bool
	put      func(b *bolt.Bucket, i int) error
}

// runs returns r's puts: each kind's entities and unique values, then
// the references. Versions are not written: a staged entity is at the
// version of the revision that makes its generation current.
func (r *replacement) runs() []run {
	var out []run
	for _, k := range model.Kinds {
		list, unique := r.byKind[k], r.unique[k]
		if len(list) > 0 {
			out = append(out, run{bucket: entityBucket(k), n: len(list), entities: true, put: func(b *bolt.Bucket, i int) error {
				e := list[i]
				v, err := json.Marshal(e)
				if err != nil {
					return fmt.Errorf("encoding %s %s: %w", k, e.Meta().ID, err)
				}
				if err := b.Put([]byte(e.Meta().ID), v); err != nil {
					return fmt.Errorf("writing %s %s: %w", k, e.Meta().ID, err)
				}
				return nil
			}})
		}
		if len(unique) > 0 {
			out = append(out, run{bucket: uniqueBucket(k), n: len(unique), put: func(b *bolt.Bucket, i int) error {
				if err := b.Put(unique[i].key, unique[i].value); err != nil {
					return fmt.Errorf("writing unique key of %s %s: %w", k, unique[i].value, err)
				}
				return nil
			}})
		}
	}
	if len(r.refs) > 0 {
		out = append(out, run{bucket: refsBucket, n: len(r.refs), put: func(b *bolt.Bucket, i int) error {
			if err := b.Put(r.refs[i], nil); err != nil {
				return fmt.Errorf("writing reference %q: %w", r.refs[i], err)
			}
			return nil
		}})
	}
	return out
}

// stage writes runs into generation gen, at most s.batch puts per
// transaction, calling progress with the number of entities written
// after each one.
func (s *Store) stage(ctx context.Context, gen string, runs []run, progress func(written int) error) error {
	ri, i, written := 0, 0, 0
	for ri < len(runs) {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			root := tx.Bucket(generationBucket(gen))
			if root == nil {
				return ErrStagedGone
			}
			for puts := 0; ri < len(runs) && puts < s.batch; {
				r := runs[ri]
				b := root.Bucket(r.bucket)
				b.FillPercent = loadFill
				for ; i < r.n && puts < s.batch; i, puts = i+1, puts+1 {
					if err := r.put(b, i); err != nil {
						return err
					}
					if r.entities {
						written++
					}
				}
				if i == r.n {
					ri, i = ri+1, 0
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("staging generation %s: %w", gen, err)
		}
		if progress != nil {
			if err := progress(written); err != nil {
				return err
			}
		}
	}
	return nil
}
