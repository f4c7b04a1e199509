package admin

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/history"
)

// revisionsBody is a page of GET /config/revisions.
type revisionsBody struct {
	Data   []history.Record `json:"data"`
	Next   *string          `json:"next"`
	Offset string           `json:"offset,omitempty"`
}

// diffBody is GET /config/revisions/{a}/diff/{b}.
type diffBody struct {
	From    int64            `json:"from"`
	To      int64            `json:"to"`
	Summary history.Summary  `json:"summary"`
	Changes []history.Change `json:"changes"`
}

// revisions serves /config/revisions and below it.
func (h *Handler) revisions(w http.ResponseWriter, r *http.Request, segs []string) {
	if h.opts.History == nil {
		notFound(w)
		return
	}
	switch {
	case len(segs) == 0:
		h.only(w, r, http.MethodGet, h.listRevisions)
	case len(segs) == 1:
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.getRevision(w, r, segs[0]) })
	case len(segs) == 2 && segs[1] == "config":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.revisionConfig(w, r, segs[0]) })
	case len(segs) == 2 && segs[1] == "rollback":
		h.only(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) { h.rollback(w, r, segs[0]) })
	case len(segs) == 3 && segs[1] == "diff":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.diffRevisions(w, r, segs[0], segs[2]) })
	default:
		notFound(w)
	}
}

// historyScope is the identity the history is read under (latest.json's)
// and the store's newest revision.
func (h *Handler) historyScope(r *http.Request) (snapshot.Identity, int64, error) {
	ptr, err := h.opts.History.Latest(r.Context())
	if err != nil {
		return snapshot.Identity{}, 0, err
	}
	newest, err := h.opts.Store.Revision(r.Context())
	if err != nil {
		return snapshot.Identity{}, 0, err
	}
	return ptr.Identity(), max(newest, ptr.Revision), nil
}

func (h *Handler) listRevisions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, err := pageSizeParam(q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var before int64
	if o := q.Get("offset"); o != "" {
		if before, err = decodeRevisionOffset(o); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	id, newest, err := h.historyScope(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	recs, next, err := h.opts.History.List(r.Context(), id, newest, before, size)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := revisionsBody{Data: recs}
	if body.Data == nil {
		body.Data = []history.Record{}
	}
	if next != 0 {
		off := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(next, 10)))
		v := url.Values{}
		if s := q.Get("size"); s != "" {
			v.Set("size", s)
		}
		v.Set("offset", off)
		link := pathPrefix(r) + r.URL.EscapedPath() + "?" + v.Encode()
		body.Next, body.Offset = &link, off
	}
	writeJSON(w, http.StatusOK, body)
}

// pageSizeParam reads size as every list does (code 9 when bad).
func pageSizeParam(q url.Values) (int, error) {
	opts, err := dataPlaneOptions(url.Values{"size": q["size"]})
	if err != nil {
		return 0, err
	}
	return opts.Size, nil
}

func decodeRevisionOffset(o string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(o)
	n, perr := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || perr != nil || n < 1 {
		return 0, invalidOffset(o)
	}
	return n, nil
}

func (h *Handler) getRevision(w http.ResponseWriter, r *http.Request, s string) {
	rec, _, err := h.revision(r, s)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// revision reads the record a path segment names, mapping the history's
// errors to answers: 400 for a bad number, 404 unknown, 410 expired.
func (h *Handler) revision(r *http.Request, s string) (history.Record, snapshot.Identity, error) {
	rev, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rev < 1 || strings.HasPrefix(s, "+") {
		return history.Record{}, snapshot.Identity{}, &httpError{status: http.StatusBadRequest,
			msg: fmt.Sprintf("revision '%s' is not a positive integer", s)}
	}
	id, newest, err := h.historyScope(r)
	if err != nil {
		return history.Record{}, id, err
	}
	rec, err := h.opts.History.Get(r.Context(), id, rev, newest)
	return rec, id, historyError(err, rev, h.opts.History.Retention())
}

// historyError maps the history's errors to Admin API answers.
func historyError(err error, rev int64, ret history.Retention) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, history.ErrExpired):
		return &httpError{status: http.StatusGone, msg: fmt.Sprintf(
			"revision %d has expired from the history (retention: %d revisions or %s)", rev, ret.Revisions, days(ret))}
	case errors.Is(err, history.ErrNotFound):
		return &httpError{status: http.StatusNotFound, msg: msgNotFound}
	case errors.Is(err, history.ErrNoSnapshot):
		return &httpError{status: http.StatusNotFound, msg: fmt.Sprintf("revision %d has no configuration: it was not published", rev)}
	}
	return err
}

func days(r history.Retention) string {
	return strconv.FormatFloat(r.Age.Hours()/24, 'f', -1, 64) + " days"
}

func (h *Handler) revisionConfig(w http.ResponseWriter, r *http.Request, s string) {
	rec, id, err := h.revision(r, s)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	cfg, err := h.opts.History.Config(r.Context(), id, rec.Revision)
	if err != nil {
		h.writeError(w, r, historyError(err, rec.Revision, h.opts.History.Retention()))
		return
	}
	if wantsJSON(r) {
		doc, err := declarative.ExportJSON(cfg)
		if err != nil {
			h.writeError(w, r, fmt.Errorf("exporting revision %d: %w", rec.Revision, err))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(doc)
		return
	}
	doc, err := declarative.Export(cfg)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("exporting revision %d: %w", rec.Revision, err))
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, _ = w.Write(doc)
}

// wantsJSON reports whether the Accept header prefers JSON over YAML.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "yaml")
}

func (h *Handler) diffRevisions(w http.ResponseWriter, r *http.Request, sa, sb string) {
	ra, id, err := h.revision(r, sa)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rb, _, err := h.revision(r, sb)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ret := h.opts.History.Retention()
	a, err := h.opts.History.Config(r.Context(), id, ra.Revision)
	if err != nil {
		h.writeError(w, r, historyError(err, ra.Revision, ret))
		return
	}
	b, err := h.opts.History.Config(r.Context(), id, rb.Revision)
	if err != nil {
		h.writeError(w, r, historyError(err, rb.Revision, ret))
		return
	}
	changes := history.Diff(a, b)
	if changes == nil {
		changes = []history.Change{}
	}
	writeJSON(w, http.StatusOK, diffBody{From: ra.Revision, To: rb.Revision, Summary: history.Summarize(changes), Changes: changes})
}

func invalidOffset(o string) error {
	return model.NewError(model.CodeInvalidOffset, "'%s' is not a valid offset for this pagination", o)
}

// rollbackBody answers POST /config/revisions/{rev}/rollback.
type rollbackBody struct {
	// Revision is the new revision, whose configuration equals RollbackOf's.
	Revision   int64 `json:"revision"`
	RollbackOf int64 `json:"rollback_of"`
}

// rollback commits revision rev's configuration as a new revision:
// history only moves forward, and the new revision is published like any
// write.
func (h *Handler) rollback(w http.ResponseWriter, r *http.Request, s string) {
	rec, id, err := h.revision(r, s)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	cfg, err := h.opts.History.Config(r.Context(), id, rec.Revision)
	if err != nil {
		h.writeError(w, r, historyError(err, rec.Revision, h.opts.History.Retention()))
		return
	}
	rev, err := h.opts.Store.ReplaceAll(r.Context(), cfg, origin(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rollbackBody{Revision: rev, RollbackOf: rec.Revision})
}
