package admin

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Every PUT, PATCH and DELETE is a read-modify-write: the entity is read
// with its version, the change computed from it, and the write made
// conditional on that version. A write that lost to a concurrent one
// (store.ErrConflict) starts over from the read, so a PATCH applies its
// fields on top of whatever won; after writeAttempts losses in a row the
// request is answered 409.

// writeAttempts bounds the attempts of one read-modify-write. Each lost
// attempt means another write of the same entity committed, so with fewer
// concurrent writers of one entity than this, every request gets through.
const writeAttempts = 10

// conflict is the answer to a read-modify-write that kept losing. Kong
// has no optimistic locking and no code for it; its code for a failure
// the database reports (a serialization failure on PostgreSQL among them)
// is DATABASE_ERROR, answered 500. Skyport answers that code with 409, as
// the client may simply retry.
func conflict() *model.Error {
	return model.NewError(model.CodeDatabaseError,
		"the entity was changed by concurrent requests %d times while this one applied; retry the request", writeAttempts)
}

// conditionally runs attempt until it does not fail with
// store.ErrConflict, at most writeAttempts times, pausing a short jittered
// while between attempts so that contending writers spread out.
func (h *Handler) conditionally(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if n == writeAttempts {
			return conflict()
		}
		backoff := time.Millisecond << min(n, 6)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rand.N(backoff) + 1):
		}
	}
}

// current is what a read-modify-write read: the entity and its version,
// or nothing (a nil e) when it does not exist.
type current struct {
	e   model.Entity
	ver store.Version
}

// put creates or replaces the entity at key: by id when key is a UUID,
// otherwise by endpoint key. A replace is conditional on the version
// read; a create is guarded by the id and unique keys, and turns into a
// replace when a concurrent request created the entity first.
func (h *Handler) put(w http.ResponseWriter, r *http.Request, k model.Kind, key string, p *parent) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var e model.Entity
	err = h.conditionally(r.Context(), func() error {
		body, err := h.decodeBody(r.Context(), raw, r.Header.Get("Content-Type"), k, "")
		if err != nil {
			return err
		}
		old, ver, err := h.lookup(r.Context(), k, key, p)
		if err != nil && !isNotFound(err) {
			return err
		}
		if e, err = h.replacement(k, key, body, old, p); err != nil {
			return err
		}
		err = h.save(r, e, current{old, ver})
		if old == nil && createRaced(err) {
			if _, _, lerr := h.lookup(r.Context(), k, key, p); lerr == nil {
				return store.ErrConflict
			}
		}
		return err
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusOK, e)
}

// createRaced reports whether a create failed on an id or unique key that
// a concurrent request may have just taken.
func createRaced(err error) bool {
	return errors.Is(err, &model.Error{Code: model.CodePrimaryKeyViolation}) ||
		errors.Is(err, &model.Error{Code: model.CodeUniqueViolation})
}

// replacement builds the entity a PUT at key stores in place of old (nil
// when absent).
func (h *Handler) replacement(k model.Kind, key string, body map[string]any, old model.Entity, p *parent) (model.Entity, error) {
	id := ""
	switch {
	case isUUID(key):
		id = key
	case endpointKey(k, p) == "":
		return nil, &model.Error{Code: model.CodeInvalidPrimaryKey, Name: model.CodeInvalidPrimaryKey.Name(),
			Message: "invalid primary key: expected a valid UUID", Fields: map[string]any{"id": "expected a valid UUID"}}
	default:
		ek := endpointKey(k, p)
		if v, ok := body[ek]; ok && v != key {
			return nil, fieldError(ek, "must match the "+ek+" in the path")
		}
		body[ek] = key
		if old != nil {
			id = old.Meta().ID
		}
	}
	if v, ok := body["id"]; ok && id != "" && v != id {
		return nil, fieldError("id", "must match the id in the path")
	}
	p.set(body)
	e, err := h.build(k, body)
	if err != nil {
		return nil, err
	}
	h.stamp(e, old, id)
	h.rebaseTTL(e, body["ttl"] != nil)
	if !isUUID(e.Meta().ID) {
		return nil, fieldError("id", "expected a valid UUID")
	}
	return e, nil
}

// patch merges the request body into the entity load reads and saves the
// result conditionally on the version read. An entity gone before the
// write is 404: a PATCH never inserts.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request, load func(context.Context) (model.Entity, store.Version, error), p *parent) {
	readRaw := sync.OnceValues(func() ([]byte, error) { return io.ReadAll(r.Body) })
	var e model.Entity
	err := h.conditionally(r.Context(), func() error {
		old, ver, err := load(r.Context())
		if err != nil {
			return err
		}
		raw, err := readRaw()
		if err != nil {
			return err
		}
		if e, err = h.merged(r.Context(), raw, r.Header.Get("Content-Type"), old, p); err != nil {
			return err
		}
		return h.save(r, e, current{old, ver})
	})
	if err != nil {
		h.writeLookupError(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusOK, e)
}

// merged builds old with the PATCH body raw merged into it.
func (h *Handler) merged(ctx context.Context, raw []byte, contentType string, old model.Entity, p *parent) (model.Entity, error) {
	k := old.Kind()
	body, err := h.decodeBody(ctx, raw, contentType, k, pluginName(old))
	if err != nil {
		return nil, err
	}
	id := old.Meta().ID
	if v, ok := body["id"]; ok && v != id {
		return nil, fieldError("id", "must match the id in the path")
	}
	m, err := toMap(old)
	if err != nil {
		return nil, err
	}
	mergeInto(m, body)
	p.set(m)
	e, err := h.build(k, m)
	if err != nil {
		return nil, err
	}
	h.stamp(e, old, id)
	h.rebaseTTL(e, body["ttl"] != nil)
	return e, nil
}

// delete removes the entity at key. By id at the top level it needs no
// read; by endpoint key or under a parent, the entity found is deleted
// only if it is still the one found, so a concurrent rename or move never
// makes it delete another.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, k model.Kind, key string, p *parent) {
	err := h.conditionally(r.Context(), func() error {
		id, ver := key, store.AnyVersion
		if p != nil || !isUUID(key) {
			e, v, err := h.lookup(r.Context(), k, key, p)
			if err != nil {
				return err
			}
			id, ver = e.Meta().ID, v
		}
		_, err := h.opts.Store.Delete(r.Context(), k, id, ver, origin(r))
		return err
	})
	if err != nil && !isNotFound(err) {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
