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

// lookup finds an entity by id or endpoint key, under p when nested.
func (h *Handler) lookup(ctx context.Context, k model.Kind, key string, p *parent) (model.Entity, error) {
	if p == nil || isUUID(key) {
		e, err := h.opts.Store.Get(ctx, k, key)
		if err != nil {
			return nil, err
		}
		if p != nil && refID(e, p.rel.field) != p.id {
			return nil, model.NewError(model.CodeNotFound, "not found")
		}
		return e, nil
	}
	ek := k.Info().EndpointKey
	if ek == "" {
		return nil, model.NewError(model.CodeNotFound, "not found")
	}
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
