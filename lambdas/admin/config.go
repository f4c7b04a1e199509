package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// config serves GET /config (the current configuration as kong.yml) and
// POST /config (replace everything with a declarative configuration).
func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.exportConfig(w, r)
	case http.MethodPost:
		h.loadConfig(w, r)
	default:
		methodNotAllowed(w)
	}
}

func (h *Handler) exportConfig(w http.ResponseWriter, r *http.Request) {
	cfg, _, err := h.opts.Store.Export(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	doc, err := declarative.Export(cfg)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("exporting configuration: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"config": string(doc)})
}

func (h *Handler) loadConfig(w http.ResponseWriter, r *http.Request) {
	doc, err := configDocument(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	cfg, err := declarative.Parse(doc)
	if err != nil {
		var de *declarative.Error
		if errors.As(err, &de) {
			err = de.ToModel()
		}
		var me *model.Error
		if !errors.As(err, &me) {
			err = model.NewError(model.CodeInvalidDeclarative, "declarative config is invalid: %s", err)
		}
		h.writeError(w, r, err)
		return
	}
	if checkHash := r.URL.Query().Get("check_hash"); checkHash == "1" || checkHash == "true" {
		current, _, err := h.opts.Store.Export(r.Context())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if contentHash(current) == contentHash(cfg) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	now := h.now().Unix()
	cfg.Each(func(e model.Entity) {
		m := e.Meta()
		if m.CreatedAt == 0 {
			m.CreatedAt = now
		}
		if m.UpdatedAt == 0 {
			m.UpdatedAt = now
		}
	})
	if _, err := h.opts.Store.ReplaceAll(r.Context(), cfg, origin(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	// The loaded configuration, written an entity at a time: as
	// writeJSON would write it, without a buffer of its whole size.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := cfg.WriteJSON(bw, false); err == nil {
		_ = bw.WriteByte('\n')
		_ = bw.Flush()
	}
}

// configDocument extracts the declarative document from the body: the raw
// body (YAML or JSON), a JSON object whose "config" is the document as a
// string, or a "config" form field.
func configDocument(r *http.Request) ([]byte, error) {
	raw, err := readBody(r)
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	values, isForm, err := formValues(r.Header.Get("Content-Type"), raw)
	if err != nil {
		return nil, err
	}
	if isForm {
		if doc := values.Get("config"); doc != "" {
			return []byte(doc), nil
		}
		return nil, model.NewError(model.CodeInvalidDeclarative, "declarative config is invalid: expected a 'config' field")
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' {
		var wrapped struct {
			Config *string `json:"config"`
		}
		if json.Unmarshal(trimmed, &wrapped) == nil && wrapped.Config != nil {
			return []byte(*wrapped.Config), nil
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, model.NewError(model.CodeInvalidDeclarative, "declarative config is invalid: expected a declarative configuration")
	}
	return raw, nil
}

// readBody reads the whole body into one buffer sized from its
// Content-Length when it has one (the body is already bounded by
// MaxBytesReader): a 100 MB kong.yml is held once, not grown by doubling
// through copies of itself.
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= MaxConfigBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// contentHash is the config hash of cfg without timestamps, which a
// declarative file does not carry: two loads of the same file compare equal.
func contentHash(cfg *model.Config) string {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return ""
	}
	var c model.Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return ""
	}
	c.Each(func(e model.Entity) {
		m := e.Meta()
		m.CreatedAt, m.UpdatedAt = 0, 0
	})
	return snapshot.ConfigHash(&c)
}
