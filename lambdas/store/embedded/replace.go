package embedded

import (
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
// its entities grouped by kind, and every index entry, each group sorted
// in key order.
//
// bbolt keeps a bucket's uncommitted keys in one sorted slice per node and
// splits nodes only at commit: keys put in random order move half that
// slice on every put, which made a load of n entities cost n² moves. A
// replacement writes every bucket in key order, so each put appends.
// Index entries point into the entities' own strings: their keys are
// built as they are written.
type replacement struct {
	byKind map[model.Kind][]model.Entity
	unique map[model.Kind][]uniqueEntry
	refs   []refEntry
}

// uniqueEntry is one unique value: its key is uniqueKey(u), its value id.
type uniqueEntry struct {
	u   model.UniqueKey
	id  string
	seq int // the position of the owner in cfg.Each's order
}

// refEntry is one reference; its key is refKey(ref, e).
type refEntry struct {
	ref model.Reference
	e   model.Entity
}

// planReplace checks cfg as inserting its entities one by one, in
// cfg.Each's order, into an empty store would, and reports the first
// violation that would: a repeated id is a primary key violation, a
// repeated unique value a unique violation, and a reference to an entity
// not inserted before it a foreign key violation. Ids and references are
// checked as the entities are read; unique values once sorted, where a
// repeated one is next to its first.
func planReplace(cfg *model.Config) (*replacement, error) {
	r := &replacement{byKind: map[model.Kind][]model.Entity{}, unique: map[model.Kind][]uniqueEntry{}}
	counts := map[model.Kind]int{}
	cfg.Each(func(e model.Entity) { counts[e.Kind()]++ })
	ids := map[model.Kind]map[string]struct{}{}
	for k, n := range counts {
		ids[k] = make(map[string]struct{}, n)
		r.byKind[k] = make([]model.Entity, 0, n)
		r.unique[k] = make([]uniqueEntry, 0, n)
	}
	r.refs = make([]refEntry, 0, cfg.Len())
	var err error
	seq := 0
	cfg.Each(func(e model.Entity) {
		if err != nil {
			return
		}
		k, id := e.Kind(), e.Meta().ID
		if id == "" {
			err = fmt.Errorf("replacing the configuration: a %s has no id", k)
			return
		}
		if _, dup := ids[k][id]; dup {
			err = store.PrimaryKeyViolation(id)
			return
		}
		for _, u := range e.UniqueKeys() {
			r.unique[k] = append(r.unique[k], uniqueEntry{u: u, id: id, seq: seq})
		}
		refs := e.References()
		for _, ref := range refs {
			if _, ok := ids[ref.Kind][ref.ID]; !ok {
				err = store.ForeignKeyViolation(ref)
				return
			}
		}
		ids[k][id] = struct{}{}
		for _, ref := range refs {
			r.refs = append(r.refs, refEntry{ref: ref, e: e})
		}
		r.byKind[k] = append(r.byKind[k], e)
		seq++
	})
	ids = nil
	if uerr := r.sortUnique(cfg); uerr != nil {
		// The unique values collected are those of the entities up to
		// the one that failed: a repeated one among them came first.
		return nil, uerr
	}
	if err != nil {
		return nil, err
	}
	for _, list := range r.byKind {
		slices.SortFunc(list, func(a, b model.Entity) int { return cmp.Compare(a.Meta().ID, b.Meta().ID) })
	}
	slices.SortFunc(r.refs, func(a, b refEntry) int {
		return cmp.Or(
			cmp.Compare(a.ref.Kind, b.ref.Kind), cmp.Compare(a.ref.ID, b.ref.ID),
			cmp.Compare(a.e.Kind(), b.e.Kind()), cmp.Compare(a.e.Meta().ID, b.e.Meta().ID),
			cmp.Compare(a.ref.Field, b.ref.Field))
	})
	return r, nil
}

// sortUnique sorts each kind's unique values in key order (field, then
// value: the order of "<field>\x00<value>") and returns the unique
// violation an insert in cfg.Each's order meets first, if any: where a
// value repeats, the second owner.
func (r *replacement) sortUnique(cfg *model.Config) error {
	first := -1
	for _, list := range r.unique {
		slices.SortFunc(list, func(a, b uniqueEntry) int {
			return cmp.Or(cmp.Compare(a.u.Field, b.u.Field), cmp.Compare(a.u.Value, b.u.Value), cmp.Compare(a.seq, b.seq))
		})
		for i := 1; i < len(list); i++ {
			if list[i].u == list[i-1].u && list[i].id != list[i-1].id && (first < 0 || list[i].seq < first) {
				// Sorted by seq within a value, list[i-1] is its first
				// owner only if the one before differs.
				if i >= 2 && list[i-2].u == list[i].u {
					continue
				}
				first = list[i].seq
			}
		}
	}
	if first < 0 {
		return nil
	}
	var violation error
	seq := 0
	cfg.Each(func(e model.Entity) {
		if seq == first {
			k := e.Kind()
			for _, u := range e.UniqueKeys() {
				if i, found := slices.BinarySearchFunc(r.unique[k], u, func(x uniqueEntry, u model.UniqueKey) int {
					return cmp.Or(cmp.Compare(x.u.Field, u.Field), cmp.Compare(x.u.Value, u.Value))
				}); found && r.unique[k][i].id != e.Meta().ID {
					violation = store.UniqueViolation(e, u)
					break
				}
			}
		}
		seq++
	})
	return violation
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
				if err := b.Put(uniqueKey(unique[i].u), []byte(unique[i].id)); err != nil {
					return fmt.Errorf("writing unique key of %s %s: %w", k, unique[i].id, err)
				}
				return nil
			}})
		}
	}
	if len(r.refs) > 0 {
		out = append(out, run{bucket: refsBucket, n: len(r.refs), put: func(b *bolt.Bucket, i int) error {
			key := refKey(r.refs[i].ref, r.refs[i].e)
			if err := b.Put(key, nil); err != nil {
				return fmt.Errorf("writing reference %q: %w", key, err)
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
	return s.stageFrom(ctx, gen, runs, 0, false, progress)
}

// stageFrom is stage from the put done on (the puts before it staged
// already, by an earlier call); with mark, each transaction also records
// in gen the puts staged with it (stagedKey), so that a replace the
// process did not finish goes on from there (ReplaceResumable).
func (s *Store) stageFrom(ctx context.Context, gen string, runs []run, done int, mark bool, progress func(written int) error) error {
	ri, i, written := 0, 0, 0
	for skip := done; ri < len(runs) && skip > 0; {
		k := min(skip, runs[ri].n)
		if runs[ri].entities {
			written += k
		}
		skip -= k
		if i = k; i == runs[ri].n {
			ri, i = ri+1, 0
		}
	}
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
					done++
				}
				if i == r.n {
					ri, i = ri+1, 0
				}
			}
			if mark {
				return root.Put(stagedKey, revKey(int64(done)))
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
