package admin

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// HeaderRevision is the header of every successful Admin API write
// (POST, PUT, PATCH, DELETE): the revision it committed, or the current
// revision when it committed nothing (a DELETE of an absent entity, an
// unchanged POST /config?check_hash=1). A client waits for a data plane to
// run that revision (GET /status/ready?revision=N, skyport wait) before
// it relies on the write. A failed write carries it only if it committed
// part of its work.
const HeaderRevision = "X-Skyport-Revision"

// commits records the newest revision the writes of one request
// committed; 0 while none did.
type commits struct{ rev atomic.Int64 }

type commitsKey struct{}

func (c *commits) add(rev int64) {
	for {
		cur := c.rev.Load()
		if rev <= cur || c.rev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// committed records rev in the request's commits, if ctx has any.
func committed(ctx context.Context, rev int64) {
	if c, ok := ctx.Value(commitsKey{}).(*commits); ok {
		c.add(rev)
	}
}

// recordingStore is the handler's store: every write it passes on
// records the revision it committed in its request's commits.
type recordingStore struct{ store.Store }

func (s recordingStore) Create(ctx context.Context, e model.Entity, o store.Origin) (int64, error) {
	rev, err := s.Store.Create(ctx, e, o)
	if err == nil {
		committed(ctx, rev)
	}
	return rev, err
}

func (s recordingStore) Update(ctx context.Context, e model.Entity, ver store.Version, o store.Origin) (int64, error) {
	rev, err := s.Store.Update(ctx, e, ver, o)
	if err == nil {
		committed(ctx, rev)
	}
	return rev, err
}

func (s recordingStore) Delete(ctx context.Context, k model.Kind, id string, ver store.Version, o store.Origin) (int64, error) {
	rev, err := s.Store.Delete(ctx, k, id, ver, o)
	if err == nil {
		committed(ctx, rev)
	}
	return rev, err
}

func (s recordingStore) ReplaceAll(ctx context.Context, cfg *model.Config, o store.Origin) (int64, error) {
	rev, err := s.Store.ReplaceAll(ctx, cfg, o)
	if err == nil {
		committed(ctx, rev)
	}
	return rev, err
}

// isWrite reports whether a request method writes.
func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// withRevision returns r with fresh commits, and a writer that sets
// HeaderRevision from them when the response starts.
func (h *Handler) withRevision(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	c := &commits{}
	r = r.WithContext(context.WithValue(r.Context(), commitsKey{}, c))
	return &revisionWriter{ResponseWriter: w, h: h, r: r, c: c}, r
}

// revisionWriter sets HeaderRevision before the status is written.
type revisionWriter struct {
	http.ResponseWriter
	h       *Handler
	r       *http.Request
	c       *commits
	started bool
}

func (w *revisionWriter) WriteHeader(code int) {
	if !w.started {
		w.started = true
		w.setRevision(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *revisionWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *revisionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *revisionWriter) setRevision(code int) {
	rev := w.c.rev.Load()
	if rev == 0 && code < http.StatusBadRequest {
		cur, err := w.h.opts.Store.Revision(w.r.Context())
		if err != nil {
			w.h.log.WarnContext(w.r.Context(), "reading the revision for "+HeaderRevision, "error", err)
			return
		}
		rev = cur
	}
	if rev > 0 || code < http.StatusBadRequest {
		w.Header().Set(HeaderRevision, strconv.FormatInt(rev, 10))
	}
}
