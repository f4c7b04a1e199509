package admin

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// parent is the resolved owner of a nested collection.
type parent struct {
	rel relation
	id  string
}

// collection serves /{collection} and nested collections.
func (h *Handler) collection(w http.ResponseWriter, r *http.Request, k model.Kind, p *parent) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.list(w, r, k, p)
	case http.MethodPost:
		h.create(w, r, k, p)
	default:
		methodNotAllowed(w)
	}
}

// entity serves /{collection}/{id or key} and nested entities.
func (h *Handler) entity(w http.ResponseWriter, r *http.Request, k model.Kind, key string, p *parent) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		var e model.Entity
		err := h.conditionally(r.Context(), func() (err error) {
			e, _, err = h.lookup(r.Context(), k, key, p)
			return err
		})
		if err != nil {
			h.writeLookupError(w, r, err)
			return
		}
		h.writeEntity(w, r, http.StatusOK, e)
	case http.MethodPut:
		h.put(w, r, k, key, p)
	case http.MethodPatch:
		h.patch(w, r, func(ctx context.Context) (model.Entity, store.Version, error) {
			return h.lookup(ctx, k, key, p)
		}, p)
	case http.MethodDelete:
		h.delete(w, r, k, key, p)
	default:
		methodNotAllowed(w)
	}
}

// foreign serves /{child collection}/{child}/{field}: the entity the
// child's reference field points to.
func (h *Handler) foreign(w http.ResponseWriter, r *http.Request, rel relation, childKey string) {
	load := func(ctx context.Context) (model.Entity, store.Version, error) {
		child, err := h.opts.Store.Get(ctx, rel.child, childKey)
		if err != nil {
			return nil, "", err
		}
		id := refID(child, rel.field)
		if id == "" {
			return nil, "", model.NewError(model.CodeNotFound, "not found")
		}
		return h.opts.Store.GetVersioned(ctx, rel.parent, id)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		e, _, err := load(r.Context())
		if err != nil {
			h.writeLookupError(w, r, err)
			return
		}
		h.writeEntity(w, r, http.StatusOK, e)
	case http.MethodPatch:
		h.patch(w, r, load, nil)
	default:
		methodNotAllowed(w)
	}
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, k model.Kind, p *parent) {
	body, err := h.readBody(r, k, "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p.set(body)
	e, err := h.build(k, body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	now := h.now().Unix()
	m := e.Meta()
	if m.ID == "" {
		m.ID = uuid.NewString()
	} else if !isUUID(m.ID) {
		h.writeError(w, r, fieldError("id", "expected a valid UUID"))
		return
	}
	m.CreatedAt, m.UpdatedAt = now, now
	if err := h.save(r, e, current{}); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusCreated, e)
}

// stamp sets the id and timestamps of a replacement for old (nil when new).
func (h *Handler) stamp(e, old model.Entity, id string) {
	now := h.now().Unix()
	m := e.Meta()
	if id == "" {
		id = m.ID
	}
	if id == "" {
		id = uuid.NewString()
	}
	m.ID, m.CreatedAt, m.UpdatedAt = id, now, now
	if old != nil {
		m.CreatedAt = old.Meta().CreatedAt
	}
}
