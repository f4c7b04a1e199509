package delta

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// ref names one entity.
type ref struct {
	kind model.Kind
	id   string
}

// Index is what a diff needs of a configuration: the SHA-256 of each
// entity's JSON encoding, by kind and id. It is a fraction of the
// configuration's size, so a publisher keeps the last one it published.
type Index map[ref][sha256.Size]byte

// IndexOf returns cfg's index.
func IndexOf(cfg *model.Config) (Index, error) {
	idx := make(Index, cfg.Len())
	var err error
	cfg.Each(func(e model.Entity) {
		if err != nil {
			return
		}
		var raw []byte
		if raw, err = json.Marshal(e); err == nil {
			idx[ref{e.Kind(), e.Meta().ID}] = sha256.Sum256(raw)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("indexing configuration: %w", err)
	}
	return idx, nil
}

// Diff returns the delta from base (at revision baseRev) to target (at
// revision rev) of identity id: every entity of target that base lacks
// or holds with other content, and every entity of base that target
// lacks, with target's configuration hash. Entities are compared by
// their JSON encoding. The delta's upserts are target's entities, shared.
func Diff(id snapshot.Identity, baseRev int64, base *model.Config, rev int64, target *model.Config) (*Document, error) {
	idx, err := IndexOf(base)
	if err != nil {
		return nil, err
	}
	doc, _, err := DiffIndex(id, baseRev, idx, rev, target)
	return doc, err
}

// DiffIndex is Diff from base's index; it also returns target's, the
// base of the next diff.
func DiffIndex(id snapshot.Identity, baseRev int64, base Index, rev int64, target *model.Config) (*Document, Index, error) {
	next := make(Index, target.Len())
	doc := &Document{
		Base: baseRev, Revision: rev, ClusterID: id.ClusterID, Epoch: id.Epoch,
		ConfigHash: snapshot.ConfigHash(target),
	}
	var err error
	target.Each(func(e model.Entity) {
		if err != nil {
			return
		}
		var raw []byte
		if raw, err = json.Marshal(e); err != nil {
			return
		}
		r := ref{e.Kind(), e.Meta().ID}
		sum := sha256.Sum256(raw)
		next[r] = sum
		if was, ok := base[r]; !ok || was != sum {
			doc.Upserts.Add(e)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("diffing revision %d: %w", rev, err)
	}
	for r := range base {
		if _, kept := next[r]; kept {
			continue
		}
		if doc.Deletes == nil {
			doc.Deletes = make(map[model.Kind][]string)
		}
		doc.Deletes[r.kind] = append(doc.Deletes[r.kind], r.id)
	}
	doc.Upserts.Sort()
	return doc, next, nil
}

// Apply returns the configuration doc yields from base, which must be
// the configuration at doc.Base: base's entities less the deleted and
// the upserted ones, plus the upserted ones. base is not modified; the
// result shares its unchanged entities. The result's hash must equal
// doc.ConfigHash (ErrResult otherwise), so a reader never holds a
// configuration the control plane did not publish.
func Apply(base *model.Config, baseRev int64, doc *Document) (*model.Config, error) {
	if doc.Base != baseRev {
		return nil, fmt.Errorf("%w: delta from revision %d applied to %d", ErrBase, doc.Base, baseRev)
	}
	out := Merge(base, &doc.Upserts, doc.Deletes)
	if got := snapshot.ConfigHash(out); got != doc.ConfigHash {
		return nil, fmt.Errorf("%w: revision %d from %d hashes to %s, the control plane's is %s", ErrResult, doc.Revision, doc.Base, got, doc.ConfigHash)
	}
	return out, nil
}

// Merge returns base less the deleted and the upserted entities, plus the
// upserted ones, sorted: the configuration a delta of those upserts and
// deletes yields from base. base is not modified; the result shares its
// entities.
func Merge(base, upserts *model.Config, deletes map[model.Kind][]string) *model.Config {
	drop := make(map[ref]struct{}, len(deletes)+upserts.Len())
	for k, ids := range deletes {
		for _, id := range ids {
			drop[ref{k, id}] = struct{}{}
		}
	}
	upserts.Each(func(e model.Entity) { drop[ref{e.Kind(), e.Meta().ID}] = struct{}{} })
	out := &model.Config{}
	base.Each(func(e model.Entity) {
		if _, gone := drop[ref{e.Kind(), e.Meta().ID}]; !gone {
			out.Add(e)
		}
	})
	upserts.Each(out.Add)
	out.Sort()
	return out
}
