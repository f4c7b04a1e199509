package embedded

import (
	"bytes"
	"cmp"
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

// write empties the store's entity and index buckets and writes r into
// them at version t.rev.
func (r *replacement) write(t txn) error {
	if err := t.clear(); err != nil {
		return err
	}
	ver := revKey(t.rev)
	for k, list := range r.byKind {
		eb, vb := filling(t.tx, entityBucket(k)), filling(t.tx, versionBucket(k))
		for _, e := range list {
			id := []byte(e.Meta().ID)
			b, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encoding %s %s: %w", k, id, err)
			}
			if err := eb.Put(id, b); err != nil {
				return fmt.Errorf("writing %s %s: %w", k, id, err)
			}
			if err := vb.Put(id, ver); err != nil {
				return fmt.Errorf("writing the version of %s %s: %w", k, id, err)
			}
		}
	}
	for k, list := range r.unique {
		ub := filling(t.tx, uniqueBucket(k))
		for _, u := range list {
			if err := ub.Put(u.key, u.value); err != nil {
				return fmt.Errorf("writing unique key of %s %s: %w", k, u.value, err)
			}
		}
	}
	rb := filling(t.tx, refsBucket)
	for _, key := range r.refs {
		if err := rb.Put(key, nil); err != nil {
			return fmt.Errorf("writing reference %q: %w", key, err)
		}
	}
	return nil
}

// filling returns bucket name, set to fill its pages for an ordered load.
func filling(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = loadFill
	return b
}
