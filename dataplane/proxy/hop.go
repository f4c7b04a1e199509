package proxy

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// Shared header values; never modified.
var (
	upgradeValue   = []string{"Upgrade"}
	websocketValue = []string{"websocket"}
)

// isWebSocket reports whether r asks to switch to WebSocket: the only
// upgrade the proxy forwards, as Kong's runloop does
// (kong/runloop/handler.lua: upstream_upgrade is set for "websocket" only).
func isWebSocket(r *http.Request) bool {
	up := r.Header["Upgrade"]
	if len(up) != 1 || !strings.EqualFold(textproto.TrimString(up[0]), "websocket") {
		return false
	}
	for _, v := range r.Header["Connection"] {
		if hasToken(v, "upgrade") {
			return true
		}
	}
	return false
}

// allowsWebSocket reports whether route accepts WebSocket on scheme:
// routes for HTTP accept it as Kong does, routes for ws (wss over TLS)
// are for it.
func allowsWebSocket(route *model.Route, scheme string) bool {
	ps := route.Protocols
	if len(ps) == 0 || slices.Contains(ps, scheme) {
		return true
	}
	if scheme == "https" {
		return slices.Contains(ps, "wss")
	}
	return slices.Contains(ps, "ws")
}

// stripHop removes, before the plugins run, the hop-by-hop fields of the
// client's request and the fields its Connection names, so that no client
// can name a field a plugin sets (X-Consumer-Username) to have it dropped
// on the way out. It keeps what the proxy acts on: "Te: trailers", and
// "Connection: Upgrade" with "Upgrade: websocket" when websocket says the
// upgrade is forwarded; every other upgrade is dropped and the request
// proxied as a plain one.
func stripHop(h http.Header, websocket bool) {
	conn, hasConn := h["Connection"]
	_, hasUp := h["Upgrade"]
	te, hasTE := h["Te"]
	_, hasKA := h["Keep-Alive"]
	_, hasPC := h["Proxy-Connection"]
	if !hasConn && !hasUp && !hasTE && !hasKA && !hasPC {
		return
	}
	for _, v := range conn {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	for _, k := range [...]string{"Connection", "Upgrade", "Te", "Keep-Alive", "Proxy-Connection"} {
		delete(h, k)
	}
	for _, v := range te {
		if hasToken(v, "trailers") {
			h["Te"] = trailersValue
			break
		}
	}
	if websocket {
		h["Connection"] = upgradeValue
		h["Upgrade"] = websocketValue
	}
}
