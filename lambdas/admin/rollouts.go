package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/rollout"
)

// Rollouts is the staged rollout as the Admin API drives it
// (rollout.Controller).
type Rollouts interface {
	Policy(ctx context.Context) (rollout.Policy, error)
	SetPolicy(ctx context.Context, p rollout.Policy) error
	DeletePolicy(ctx context.Context) error
	Rollouts(ctx context.Context) ([]rollout.Rollout, error)
	Promote(ctx context.Context, rev int64) (rollout.Rollout, error)
	Halt(ctx context.Context, rev int64) (rollout.Rollout, error)
}

// rolloutsBody is GET /config/rollouts: every rollout kept, newest first.
type rolloutsBody struct {
	Data []rollout.Rollout `json:"data"`
	Next *string           `json:"next"`
}

// rolloutPolicy serves GET, PUT and DELETE /config/rollout-policy.
func (h *Handler) rolloutPolicy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		p, err := h.opts.Rollouts.Policy(ctx)
		if err != nil {
			h.writeError(w, r, rolloutError(err))
			return
		}
		writeJSON(w, http.StatusOK, p)
	case http.MethodPut:
		p, err := rollout.ParsePolicy(r.Body)
		if err != nil {
			h.writeError(w, r, rolloutError(err))
			return
		}
		if err := h.opts.Rollouts.SetPolicy(ctx, p); err != nil {
			h.writeError(w, r, rolloutError(err))
			return
		}
		writeJSON(w, http.StatusOK, p)
	case http.MethodDelete:
		if err := h.opts.Rollouts.DeletePolicy(ctx); err != nil {
			h.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w)
	}
}

// rollouts serves GET /config/rollouts and POST
// /config/rollouts/{rev}/promote and /halt.
func (h *Handler) rollouts(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 0:
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			rs, err := h.opts.Rollouts.Rollouts(r.Context())
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			if rs == nil {
				rs = []rollout.Rollout{}
			}
			writeJSON(w, http.StatusOK, rolloutsBody{Data: rs})
		})
	case len(segs) == 2 && (segs[1] == "promote" || segs[1] == "halt"):
		h.only(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			rev, err := strconv.ParseInt(segs[0], 10, 64)
			if err != nil || rev < 1 {
				writeJSON(w, http.StatusBadRequest, message(fmt.Sprintf("revision '%s' is not a positive integer", segs[0])))
				return
			}
			act := h.opts.Rollouts.Promote
			if segs[1] == "halt" {
				act = h.opts.Rollouts.Halt
			}
			ro, err := act(r.Context(), rev)
			if err != nil {
				h.writeError(w, r, rolloutError(err))
				return
			}
			writeJSON(w, http.StatusOK, ro)
		})
	default:
		notFound(w)
	}
}

// rolloutError maps the rollout's errors to Admin API answers: a bad
// policy is Kong's schema violation, a missing one 404, a rollout that
// is over 409.
func rolloutError(err error) error {
	var pe *rollout.PolicyError
	switch {
	case errors.As(err, &pe):
		f := model.FieldErrors{}
		for k, v := range pe.Fields {
			f.Add(k, v)
		}
		return f.Err()
	case errors.Is(err, rollout.ErrNoPolicy), errors.Is(err, rollout.ErrNoRollout):
		return &httpError{status: http.StatusNotFound, msg: msgNotFound}
	case errors.Is(err, rollout.ErrNotInProgress):
		return &httpError{status: http.StatusConflict, msg: "the rollout is not in progress"}
	case errors.Is(err, rollout.ErrConflict):
		return model.NewError(model.CodeDatabaseError, "the rollout was changed by concurrent requests; try again")
	}
	return err
}
