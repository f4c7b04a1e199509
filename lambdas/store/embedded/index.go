package embedded

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// txn runs entity operations inside one bbolt transaction, keeping the
// versions and the unique and reference indexes in step with the entities.
// rev is the revision a write transaction commits at, the version of
// every entity it stores.
type txn struct {
	tx  *bolt.Tx
	rev int64
	// log collects the revision's change-log entry.
	log *store.LogBuilder
	// root holds the current generation's buckets; nil for a file whose
	// buckets are still at the top level (written before generations).
	root *bolt.Bucket
	// base is the version of the entities the current generation was
	// staged with: the revision that made it current.
	base int64
}

func uniqueKey(u model.UniqueKey) []byte { return []byte(u.Field + "\x00" + u.Value) }

// refKey is "<referenced kind>\x00<referenced id>\x00<kind>\x00<id>\x00<field>",
// so the referrers of an entity are one prefix scan.
func refKey(r model.Reference, e model.Entity) []byte {
	return []byte(string(r.Kind) + "\x00" + r.ID + "\x00" + string(e.Kind()) + "\x00" + e.Meta().ID + "\x00" + r.Field)
}

// get returns the entity of kind k with id, nil if there is none.
func (t txn) get(k model.Kind, id string) (model.Entity, error) {
	v := t.bucket(entityBucket(k)).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	return store.DecodeEntity(k, v)
}

// version returns the version of the stored entity of kind k with id.
func (t txn) version(k model.Kind, id string) store.Version {
	rev := uint64(t.base)
	if v := t.bucket(versionBucket(k)).Get([]byte(id)); len(v) == 8 {
		rev = binary.BigEndian.Uint64(v)
	}
	return store.Version(strconv.FormatUint(rev, 10))
}

// insert writes e, whose id is free, at version t.rev after checking its
// unique keys and references.
func (t txn) insert(e model.Entity) error {
	k, id := e.Kind(), e.Meta().ID
	ub := t.bucket(uniqueBucket(k))
	for _, u := range e.UniqueKeys() {
		if owner := ub.Get(uniqueKey(u)); owner != nil && string(owner) != id {
			return store.UniqueViolation(e, u)
		}
	}
	for _, r := range e.References() {
		if t.bucket(entityBucket(r.Kind)).Get([]byte(r.ID)) == nil {
			return store.ForeignKeyViolation(r)
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding %s %s: %w", k, id, err)
	}
	if err := t.bucket(entityBucket(k)).Put([]byte(id), b); err != nil {
		return fmt.Errorf("writing %s %s: %w", k, id, err)
	}
	if err := t.bucket(versionBucket(k)).Put([]byte(id), revKey(t.rev)); err != nil {
		return fmt.Errorf("writing the version of %s %s: %w", k, id, err)
	}
	t.log.Upsert(k, id)
	for _, u := range e.UniqueKeys() {
		if err := ub.Put(uniqueKey(u), []byte(id)); err != nil {
			return fmt.Errorf("writing unique key of %s %s: %w", k, id, err)
		}
	}
	rb := t.bucket(refsBucket)
	for _, r := range e.References() {
		if err := rb.Put(refKey(r, e), nil); err != nil {
			return fmt.Errorf("writing reference of %s %s: %w", k, id, err)
		}
	}
	return nil
}

// remove deletes e and its index entries; it does not look at referrers.
func (t txn) remove(e model.Entity) error {
	k, id := e.Kind(), e.Meta().ID
	if err := t.bucket(entityBucket(k)).Delete([]byte(id)); err != nil {
		return fmt.Errorf("deleting %s %s: %w", k, id, err)
	}
	if err := t.bucket(versionBucket(k)).Delete([]byte(id)); err != nil {
		return fmt.Errorf("deleting the version of %s %s: %w", k, id, err)
	}
	t.log.Delete(k, id)
	ub := t.bucket(uniqueBucket(k))
	for _, u := range e.UniqueKeys() {
		if owner := ub.Get(uniqueKey(u)); string(owner) == id {
			if err := ub.Delete(uniqueKey(u)); err != nil {
				return fmt.Errorf("deleting unique key of %s %s: %w", k, id, err)
			}
		}
	}
	rb := t.bucket(refsBucket)
	for _, r := range e.References() {
		if err := rb.Delete(refKey(r, e)); err != nil {
			return fmt.Errorf("deleting reference of %s %s: %w", k, id, err)
		}
	}
	return nil
}

// referrer is one entity pointing at another.
type referrer struct {
	kind  model.Kind
	id    string
	field string
}

// referrers lists the entities whose references point at (k, id).
func (t txn) referrers(k model.Kind, id string) []referrer {
	prefix := []byte(string(k) + "\x00" + id + "\x00")
	var out []referrer
	c := t.bucket(refsBucket).Cursor()
	for key, _ := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, _ = c.Next() {
		parts := bytes.Split(key[len(prefix):], []byte{0})
		if len(parts) != 3 {
			continue
		}
		out = append(out, referrer{model.Kind(parts[0]), string(parts[1]), string(parts[2])})
	}
	return out
}

// deletion returns root and every entity its deletion cascades to, in an
// order safe to remove, or the error of a referrer that restricts it.
func (t txn) deletion(root model.Entity) ([]model.Entity, error) {
	seen := map[string]bool{string(root.Kind()) + "/" + root.Meta().ID: true}
	out := []model.Entity{root}
	for i := 0; i < len(out); i++ {
		e := out[i]
		for _, r := range t.referrers(e.Kind(), e.Meta().ID) {
			if store.OnDeleteOf(r.kind, r.field) == store.Restrict {
				return nil, store.ReferencedBy(e.Kind(), e.Meta().ID, r.kind, r.id, r.field)
			}
			key := string(r.kind) + "/" + r.id
			if seen[key] {
				continue
			}
			seen[key] = true
			child, err := t.get(r.kind, r.id)
			if err != nil {
				return nil, err
			}
			if child != nil {
				out = append(out, child)
			}
		}
	}
	return out, nil
}
