package delta

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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
	doc := &Document{Base: baseRev, Revision: rev, ClusterID: id.ClusterID, Epoch: id.Epoch}
	var digest snapshot.Digest
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
		digest.AddDigest(snapshot.KindDigest(r.kind, sum))
		if was, ok := base[r]; !ok || was != sum {
			doc.Upserts.Add(e)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("diffing revision %d: %w", rev, err)
	}
	doc.ConfigHash = digest.Hash() // snapshot.ConfigHash(target), from the sums at hand
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
	d, err := snapshot.DigestOf(base)
	if err != nil {
		return nil, fmt.Errorf("applying delta to revision %d: %w", baseRev, err)
	}
	out, _, err := ApplyDigest(base, d, baseRev, doc)
	return out, err
}

// ApplyDigest is Apply for a reader that keeps the running
// configuration's digest: the result's digest is base's updated with the
// entities the delta replaces and brings, at a cost that grows with the
// delta, not the configuration. It also returns the result's digest.
// base's lists must be sorted by id (as a snapshot's and Apply's are); the
// result's are, and it shares the lists of the kinds the delta leaves
// alone.
func ApplyDigest(base *model.Config, digest snapshot.Digest, baseRev int64, doc *Document) (*model.Config, snapshot.Digest, error) {
	if doc.Base != baseRev {
		return nil, digest, fmt.Errorf("%w: delta from revision %d applied to %d", ErrBase, doc.Base, baseRev)
	}
	out, next, err := Patch(base, digest, &doc.Upserts, doc.Deletes)
	if err != nil {
		return nil, digest, fmt.Errorf("applying delta %d→%d: %w", doc.Base, doc.Revision, err)
	}
	if got := next.Hash(); got != doc.ConfigHash {
		return nil, digest, fmt.Errorf("%w: revision %d from %d hashes to %s, the control plane's is %s", ErrResult, doc.Revision, doc.Base, got, doc.ConfigHash)
	}
	return out, next, nil
}

// Patch returns base less the deleted and the upserted entities, plus the
// upserted ones, and the result's digest: base's (digest) updated with
// the entities dropped and brought, at a cost that grows with the change,
// not the configuration. base's lists must be sorted by id; the result's
// are, and it shares base's entities and the lists of the kinds the
// change leaves alone. Neither base nor u is modified.
func Patch(base *model.Config, digest snapshot.Digest, u *model.Config, deletes map[model.Kind][]string) (*model.Config, snapshot.Digest, error) {
	return PatchSeen(base, digest, u, deletes, nil)
}

// PatchSeen is Patch that also calls seen with every entity the change
// touches: its version in base (nil when created) and in the result (nil
// when deleted); an id deleted that base lacks is not seen.
func PatchSeen(base *model.Config, digest snapshot.Digest, u *model.Config, deletes map[model.Kind][]string, seen func(before, after model.Entity)) (*model.Config, snapshot.Digest, error) {
	p := &patcher{digest: digest, deletes: deletes, seen: seen}
	out := &model.Config{
		Vaults:         patch(p, model.KindVault, base.Vaults, u.Vaults),
		CACertificates: patch(p, model.KindCACertificate, base.CACertificates, u.CACertificates),
		Certificates:   patch(p, model.KindCertificate, base.Certificates, u.Certificates),
		SNIs:           patch(p, model.KindSNI, base.SNIs, u.SNIs),
		Services:       patch(p, model.KindService, base.Services, u.Services),
		Routes:         patch(p, model.KindRoute, base.Routes, u.Routes),
		Consumers:      patch(p, model.KindConsumer, base.Consumers, u.Consumers),
		Upstreams:      patch(p, model.KindUpstream, base.Upstreams, u.Upstreams),
		Targets:        patch(p, model.KindTarget, base.Targets, u.Targets),
		Plugins:        patch(p, model.KindPlugin, base.Plugins, u.Plugins),
		KeyAuths:       patch(p, model.KindKeyAuth, base.KeyAuths, u.KeyAuths),
		BasicAuths:     patch(p, model.KindBasicAuth, base.BasicAuths, u.BasicAuths),
		JWTSecrets:     patch(p, model.KindJWT, base.JWTSecrets, u.JWTSecrets),
		ACLs:           patch(p, model.KindACL, base.ACLs, u.ACLs),
		HMACAuths:      patch(p, model.KindHMACAuth, base.HMACAuths, u.HMACAuths),
		OAuth2s:        patch(p, model.KindOAuth2, base.OAuth2s, u.OAuth2s),
		KeySets:        patch(p, model.KindKeySet, base.KeySets, u.KeySets),
		Keys:           patch(p, model.KindKey, base.Keys, u.Keys),
	}
	if p.err != nil {
		return nil, digest, p.err
	}
	return out, p.digest, nil
}

// patcher carries a delta's application across the kinds: the digest
// being updated and the first error.
type patcher struct {
	digest  snapshot.Digest
	deletes map[model.Kind][]string
	seen    func(before, after model.Entity)
	err     error
}

// patch returns base (sorted by id) less the entities of kind the delta
// deletes or replaces, merged with ups in id order; base itself when the
// delta leaves the kind alone. The digest follows every entity dropped
// and added.
func patch[T model.Entity](p *patcher, kind model.Kind, base, ups []T) []T {
	dels := p.deletes[kind]
	if (len(ups) == 0 && len(dels) == 0) || p.err != nil {
		return base
	}
	ups = slices.Clone(ups)
	slices.SortStableFunc(ups, func(a, b T) int { return strings.Compare(a.Meta().ID, b.Meta().ID) })
	// drop: the ids leaving base, each true when an upsert replaces it.
	drop := make(map[string]bool, len(dels)+len(ups))
	for _, id := range dels {
		drop[id] = false
	}
	for _, e := range ups {
		drop[e.Meta().ID] = true
	}
	var replaced map[string]model.Entity
	if p.seen != nil {
		replaced = make(map[string]model.Entity, len(ups))
	}
	out := make([]T, 0, len(base)+len(ups))
	j := 0
	for _, e := range base {
		id := e.Meta().ID
		for ; j < len(ups) && ups[j].Meta().ID < id; j++ {
			out = add(p, out, ups[j], replaced)
		}
		up, gone := drop[id]
		if !gone {
			out = append(out, e)
			continue
		}
		if err := p.digest.Remove(e); err != nil && p.err == nil {
			p.err = err
		}
		switch {
		case p.seen == nil:
		case up:
			replaced[id] = e
		default:
			p.seen(e, nil)
		}
	}
	for ; j < len(ups); j++ {
		out = add(p, out, ups[j], replaced)
	}
	return out
}

// add appends e to out and counts it in the digest; replaced holds the
// base's versions of the entities upserted, for p.seen.
func add[T model.Entity](p *patcher, out []T, e T, replaced map[string]model.Entity) []T {
	if err := p.digest.Add(e); err != nil && p.err == nil {
		p.err = err
	}
	if p.seen != nil {
		p.seen(replaced[e.Meta().ID], e)
	}
	return append(out, e)
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
