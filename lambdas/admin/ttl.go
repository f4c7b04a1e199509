package admin

import (
	"context"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// A key-auth credential may live for ttl seconds (Kong's keyauth_credentials
// table has a ttl). Kong answers the time it has left and stops finding it
// once expired; so does Skyport. The store keeps the ttl counted from the
// credential's created_at, which is what data planes compare the clock
// with: a write that sends a ttl restarts it from the time of the write.

// rebaseTTL turns the ttl a client sent with a write into one counted from
// the credential's creation.
func (h *Handler) rebaseTTL(e model.Entity, sent bool) {
	c, ok := e.(*model.KeyAuth)
	if !ok || !sent || c.TTL == nil || *c.TTL <= 0 {
		return
	}
	ttl := int(h.now().Unix()-c.CreatedAt) + *c.TTL
	c.TTL = &ttl
}

// presented is e as the Admin API answers it: a key-auth credential with
// the seconds it has left; ok is false for an expired one, which Kong
// no longer finds.
func (h *Handler) presented(e model.Entity) (out model.Entity, ok bool) {
	c, isKey := e.(*model.KeyAuth)
	if !isKey || c.TTL == nil || *c.TTL <= 0 {
		return e, true
	}
	left := int(c.CreatedAt + int64(*c.TTL) - h.now().Unix())
	if left <= 0 {
		return nil, false
	}
	cp := *c
	cp.TTL = &left
	return &cp, true
}

// expired reports an entity that exists in the store but that Kong's
// clients no longer see.
func (h *Handler) expired(e model.Entity) bool {
	_, ok := h.presented(e)
	return !ok
}

// reapListed deletes an expired credential a listing came across: read
// again for its version, and deleted only if still expired.
func (h *Handler) reapListed(ctx context.Context, e model.Entity) {
	cur, ver, err := h.opts.Store.GetVersioned(ctx, e.Kind(), e.Meta().ID)
	if err == nil && h.expired(cur) {
		h.reapExpired(ctx, cur, ver)
	}
}

// reapExpired deletes an expired credential the Admin API came across,
// conditionally on the version read, as Kong's database drops expired
// rows; a failure leaves it for the next read.
func (h *Handler) reapExpired(ctx context.Context, e model.Entity, ver store.Version) {
	if _, err := h.opts.Store.Delete(ctx, e.Kind(), e.Meta().ID, ver, store.Origin{Method: "EXPIRE"}); err != nil {
		h.log.DebugContext(ctx, "removing an expired credential failed", "id", e.Meta().ID, "error", err)
	}
}
