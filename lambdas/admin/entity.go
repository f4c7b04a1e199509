package admin

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
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
		e, err := h.lookup(r.Context(), k, key, p)
		if err != nil {
			h.writeLookupError(w, r, err)
			return
		}
		h.writeEntity(w, r, http.StatusOK, e)
	case http.MethodPut:
		h.put(w, r, k, key, p)
	case http.MethodPatch:
		e, err := h.lookup(r.Context(), k, key, p)
		if err != nil {
			h.writeLookupError(w, r, err)
			return
		}
		h.patch(w, r, e, p)
	case http.MethodDelete:
		h.delete(w, r, k, key, p)
	default:
		methodNotAllowed(w)
	}
}

// foreign serves /{child collection}/{child}/{field}: the entity the
// child's reference field points to.
func (h *Handler) foreign(w http.ResponseWriter, r *http.Request, rel relation, childKey string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPatch {
		methodNotAllowed(w)
		return
	}
	child, err := h.opts.Store.Get(r.Context(), rel.child, childKey)
	if err != nil {
		h.writeLookupError(w, r, err)
		return
	}
	id := refID(child, rel.field)
	if id == "" {
		notFound(w)
		return
	}
	e, err := h.opts.Store.Get(r.Context(), rel.parent, id)
	if err != nil {
		h.writeLookupError(w, r, err)
		return
	}
	if r.Method == http.MethodPatch {
		h.patch(w, r, e, nil)
		return
	}
	h.writeEntity(w, r, http.StatusOK, e)
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
	if err := h.save(r, e, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusCreated, e)
}

// put creates or replaces the entity at key: by id when key is a UUID,
// otherwise by endpoint key.
func (h *Handler) put(w http.ResponseWriter, r *http.Request, k model.Kind, key string, p *parent) {
	body, err := h.readBody(r, k, "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	old, err := h.lookup(r.Context(), k, key, p)
	if err != nil && !isNotFound(err) {
		h.writeError(w, r, err)
		return
	}
	id := ""
	switch {
	case isUUID(key):
		id = key
	case k.Info().EndpointKey == "":
		h.writeError(w, r, &model.Error{Code: model.CodeInvalidPrimaryKey, Name: model.CodeInvalidPrimaryKey.Name(),
			Message: "invalid primary key: expected a valid UUID", Fields: map[string]any{"id": "expected a valid UUID"}})
		return
	default:
		ek := k.Info().EndpointKey
		if v, ok := body[ek]; ok && v != key {
			h.writeError(w, r, fieldError(ek, "must match the "+ek+" in the path"))
			return
		}
		body[ek] = key
		if old != nil {
			id = old.Meta().ID
		}
	}
	if v, ok := body["id"]; ok && id != "" && v != id {
		h.writeError(w, r, fieldError("id", "must match the id in the path"))
		return
	}
	p.set(body)
	e, err := h.build(k, body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.stamp(e, old, id)
	if !isUUID(e.Meta().ID) {
		h.writeError(w, r, fieldError("id", "expected a valid UUID"))
		return
	}
	if err := h.save(r, e, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusOK, e)
}

// patch merges the request body into old and saves the result.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request, old model.Entity, p *parent) {
	k := old.Kind()
	body, err := h.readBody(r, k, pluginName(old))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id := old.Meta().ID
	if v, ok := body["id"]; ok && v != id {
		h.writeError(w, r, fieldError("id", "must match the id in the path"))
		return
	}
	merged, err := toMap(old)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	mergeInto(merged, body)
	p.set(merged)
	e, err := h.build(k, merged)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.stamp(e, old, id)
	if err := h.save(r, e, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusOK, e)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, k model.Kind, key string, p *parent) {
	id := key
	if p != nil || !isUUID(key) {
		e, err := h.lookup(r.Context(), k, key, p)
		if isNotFound(err) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		id = e.Meta().ID
	}
	if _, err := h.opts.Store.Delete(r.Context(), k, id, origin(r)); err != nil && !isNotFound(err) {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
