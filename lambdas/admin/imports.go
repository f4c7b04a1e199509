package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Imports are the import jobs (imports.Jobs): a configuration too large
// for one request, uploaded aside and loaded in batches.
type Imports interface {
	Create(ctx context.Context) (imports.Job, error)
	Get(ctx context.Context, id string) (imports.Job, error)
	Start(ctx context.Context, id string, o store.Origin) (imports.Job, error)
}

var _ Imports = (*imports.Jobs)(nil)

// imports serves POST /config/imports, GET /config/imports/{id} and
// POST /config/imports/{id}/start.
func (h *Handler) imports(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 0:
		h.only(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			job, err := h.opts.Imports.Create(r.Context())
			if err != nil {
				h.writeError(w, r, importError(err))
				return
			}
			writeJSON(w, http.StatusCreated, job)
		})
	case len(segs) == 1:
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			job, err := h.opts.Imports.Get(r.Context(), segs[0])
			if err != nil {
				h.writeError(w, r, importError(err))
				return
			}
			writeJSON(w, http.StatusOK, job)
		})
	case len(segs) == 2 && segs[1] == "start":
		h.only(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			job, err := h.opts.Imports.Start(r.Context(), segs[0], origin(r))
			if err != nil {
				h.writeError(w, r, importError(err))
				return
			}
			writeJSON(w, http.StatusAccepted, job)
		})
	default:
		notFound(w)
	}
}

// importError maps the import jobs' errors to Admin API answers.
func importError(err error) error {
	switch {
	case errors.Is(err, imports.ErrNotFound):
		return &httpError{status: http.StatusNotFound, msg: msgNotFound}
	case errors.Is(err, imports.ErrNoUpload):
		return &httpError{status: http.StatusConflict, msg: "nothing was uploaded for this import job: PUT the configuration to its upload url first"}
	case errors.Is(err, imports.ErrState):
		return &httpError{status: http.StatusConflict, msg: err.Error()}
	case errors.Is(err, imports.ErrBusy):
		return &httpError{status: http.StatusConflict, msg: "the import job was changed by a concurrent request; try again"}
	}
	return err
}
