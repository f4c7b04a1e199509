package admin

import (
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
)

// complete fills what Kong generates on write (credential keys and
// secrets), hashes basic-auth passwords that are not hashed yet, and
// refuses plugins that are not available on this server.
func (h *Handler) complete(e model.Entity) error {
	switch v := e.(type) {
	case *model.KeyAuth:
		if v.Key == "" {
			v.Key = randomHex()
		}
	case *model.JWTSecret:
		if v.Key == "" {
			v.Key = randomHex()
		}
		if v.Secret == "" {
			v.Secret = randomHex()
		}
	case *model.BasicAuth:
		if v.Password != "" && !model.IsPasswordHash(v.Password) {
			hash, err := model.HashPassword(v.Password)
			if err != nil {
				return fieldError("password", "cannot be hashed: "+err.Error())
			}
			v.Password = hash
		}
	case *model.OAuth2Credential:
		if v.HashSecret && !model.IsPasswordHash(v.ClientSecret) {
			hash, err := model.HashPassword(v.ClientSecret)
			if err != nil {
				return fieldError("client_secret", "cannot be hashed: "+err.Error())
			}
			v.ClientSecret = hash
		}
	case *model.Plugin:
		if h.plugins != nil && v.Name != "" && !h.plugins[v.Name] {
			return fieldError("name", model.UnsupportedPlugin(v.Name, h.available()))
		}
	}
	return nil
}

// randomHex is a random 32-hex-character value, like Kong's generated keys.
func randomHex() string {
	id := uuid.New()
	return strings.ReplaceAll(id.String(), "-", "")
}

// save writes e: a create when nothing was read (cur.e nil), otherwise an
// update conditional on the version read.
func (h *Handler) save(r *http.Request, e model.Entity, cur current) error {
	if c, ok := e.(*model.Certificate); ok {
		return h.saveCertificate(r, c, cur)
	}
	return h.saveEntity(r, e, cur)
}

func (h *Handler) saveEntity(r *http.Request, e model.Entity, cur current) error {
	if cur.e != nil {
		_, err := h.opts.Store.Update(r.Context(), e, cur.ver, origin(r))
		return err
	}
	_, err := h.opts.Store.Create(r.Context(), e, origin(r))
	return err
}

// writeEntity answers one entity; a certificate also lists its SNI names.
func (h *Handler) writeEntity(w http.ResponseWriter, r *http.Request, status int, e model.Entity) {
	if c, ok := e.(*model.Certificate); ok && c.SNIs == nil {
		if err := h.withSNIs(r.Context(), c); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if shown, ok := h.presented(e); ok {
		e = shown
	}
	writeJSON(w, status, e)
}
