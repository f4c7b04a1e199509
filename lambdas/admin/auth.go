package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// HashToken returns the SHA-256 of an admin token, the form Options.TokenHash takes.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// authorized checks the request's token (Authorization: Bearer, or
// Kong-Admin-Token) against TokenHash in constant time; with no TokenHash
// every request is authorized.
func (h *Handler) authorized(r *http.Request) bool {
	if h.opts.TokenHash == nil {
		return true
	}
	token := r.Header.Get("Kong-Admin-Token")
	if token == "" {
		scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(t)
		}
	}
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], h.opts.TokenHash) == 1
}
