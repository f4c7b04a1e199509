package admin

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// withParent resolves the parent entity of a nested path, answering 404
// when it does not exist.
func (h *Handler) withParent(w http.ResponseWriter, r *http.Request, rel relation, idOrKey string, fn func(*parent)) {
	e, err := h.opts.Store.Get(r.Context(), rel.parent, idOrKey)
	if isNotFound(err) {
		notFound(w)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	fn(&parent{rel: rel, id: e.Meta().ID})
}

// lookup finds an entity by id or endpoint key, under p when nested, and
// returns it with its version. A nested entity found by key is read again
// by id for its version; if it moved meanwhile, the read is out of date
// (store.ErrConflict) and is to be retried. An expired credential is not
// found, and is removed.
func (h *Handler) lookup(ctx context.Context, k model.Kind, key string, p *parent) (model.Entity, store.Version, error) {
	e, ver, err := h.lookupStored(ctx, k, key, p)
	if err == nil && h.expired(e) {
		h.reapExpired(ctx, e, ver)
		return nil, "", model.NewError(model.CodeNotFound, "not found")
	}
	return e, ver, err
}

// lookupStored is lookup of whatever the store holds.
func (h *Handler) lookupStored(ctx context.Context, k model.Kind, key string, p *parent) (model.Entity, store.Version, error) {
	if p == nil || isUUID(key) {
		e, ver, err := h.opts.Store.GetVersioned(ctx, k, key)
		if err != nil {
			return nil, "", err
		}
		if p != nil && refID(e, p.rel.field) != p.id {
			return nil, "", model.NewError(model.CodeNotFound, "not found")
		}
		return e, ver, nil
	}
	ek := endpointKey(k, p)
	if ek == "" {
		return nil, "", model.NewError(model.CodeNotFound, "not found")
	}
	if byKey, ok := uniqueUnder(k, ek, key, p); ok {
		return h.lookupUnique(ctx, k, ek, key, byKey, p)
	}
	found, err := h.findNested(ctx, k, ek, key, p)
	if err != nil {
		return nil, "", err
	}
	e, ver, err := h.opts.Store.GetVersioned(ctx, k, found.Meta().ID)
	if isNotFound(err) {
		return nil, "", store.ErrConflict
	}
	if err != nil {
		return nil, "", err
	}
	if m, err := toMap(e); err != nil || m[ek] != key || refID(e, p.rel.field) != p.id {
		return nil, "", store.ErrConflict
	}
	return e, ver, nil
}

// endpointKey is the field that may stand for the id of an entity of
// kind k in a path: the kind's endpoint key, or under its parent its
// nested key (an acl's group under /consumers/{c}/acls/{group}, as
// kong/plugins/acl/api.lua serves it).
func endpointKey(k model.Kind, p *parent) string {
	i := k.Info()
	if i.EndpointKey == "" && p != nil {
		return i.NestedKey
	}
	return i.EndpointKey
}

// uniqueUnder is the key the store finds the entity of kind k whose
// field ek is key by (its unique guard, a read by key): key itself when
// ek is the kind's endpoint key, unique across the kind; for a target,
// whose target is unique within its upstream, "<upstream id>:<target>".
// False when the field is unique only under the parent in no form the
// store looks up (an acl's group): the parent's children are listed.
func uniqueUnder(k model.Kind, ek, key string, p *parent) (string, bool) {
	switch {
	case ek != k.Info().EndpointKey:
		return "", false
	case k == model.KindTarget:
		return p.id + ":" + key, p.rel.parent == model.KindUpstream
	default:
		return key, true
	}
}

// lookupUnique reads the entity of kind k found by byKey and checks that
// its field ek is key and that it is p's: a read by key where listing
// p's children would cost them all.
func (h *Handler) lookupUnique(ctx context.Context, k model.Kind, ek, key, byKey string, p *parent) (model.Entity, store.Version, error) {
	e, ver, err := h.opts.Store.GetVersioned(ctx, k, byKey)
	if isNotFound(err) {
		return nil, "", model.NewError(model.CodeNotFound, "not found")
	}
	if err != nil {
		return nil, "", err
	}
	if m, err := toMap(e); err != nil || m[ek] != key || refID(e, p.rel.field) != p.id {
		return nil, "", model.NewError(model.CodeNotFound, "not found")
	}
	return e, ver, nil
}

// findNested lists the children of p for the one whose field ek is key.
func (h *Handler) findNested(ctx context.Context, k model.Kind, ek, key string, p *parent) (model.Entity, error) {
	opts := store.ListOptions{Size: 1000, Parent: &model.Reference{Field: p.rel.field, Kind: p.rel.parent, ID: p.id}}
	for {
		page, err := h.opts.Store.List(ctx, k, opts)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if m, err := toMap(e); err == nil && m[ek] == key {
				return e, nil
			}
		}
		if page.Next == "" {
			return nil, model.NewError(model.CodeNotFound, "not found")
		}
		opts.Offset = page.Next
	}
}

// writeLookupError answers Kong's plain 404 for a missing entity.
func (h *Handler) writeLookupError(w http.ResponseWriter, r *http.Request, err error) {
	if isNotFound(err) {
		notFound(w)
		return
	}
	h.writeError(w, r, err)
}

// set points the nested entity's reference field at the parent.
func (p *parent) set(body map[string]any) {
	if p != nil {
		body[p.rel.field] = map[string]any{"id": p.id}
	}
}

// refID returns the id the reference field of e points to.
func refID(e model.Entity, field string) string {
	for _, ref := range e.References() {
		if ref.Field == field {
			return ref.ID
		}
	}
	return ""
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func pluginName(e model.Entity) string {
	if p, ok := e.(*model.Plugin); ok {
		return p.Name
	}
	return ""
}
