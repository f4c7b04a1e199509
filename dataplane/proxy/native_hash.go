package proxy

import (
	"net/http"
	"net/textproto"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// nativeHashes reports whether the native path computes the hash key of
// a consistent-hashing pool p as RoundTrip does from the adapted
// upstream request: it hashes on the consumer, the client's address, the
// path, the query, a capture, a cookie, or a field the upstream request
// carries as the client sent it (not one the proxy drops, sets or keeps
// apart: hop-by-hop, X-Forwarded-*, Via, the request id, Host).
func nativeHashes(p *upstream.Pool) bool {
	for _, name := range p.HashFields() {
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case hopOrForwarded(key), unwritten(key), hopField(key):
			return false
		}
		switch key {
		case "Via", "User-Agent", headerRequestID:
			return false
		}
	}
	return true
}

// hopField reports whether key (canonical) is a hop-by-hop field
// stripHop removes before the plugins.
func hopField(key string) bool {
	for _, h := range hopHeaders {
		if key == h {
			return true
		}
	}
	return false
}

// hashKey is the consistent-hashing key of the native request x, as
// RoundTrip computes it for the adapted one (exchange.hashInput): the
// fields it reads are the view's as the plugins left them, less those a
// Connection field names; a cookie the pool made goes to the client as
// the adapted request's does (decorate).
func (x *nativeExchange) hashKey() string {
	p := x.svc.pool
	in := upstream.HashInput{ClientIP: x.clientIP, Path: x.match.Path, Captures: x.match.Captures}
	if len(x.query) > 0 {
		in.Query = string(x.query[1:])
	}
	if pc := x.pc; pc != nil {
		if pc.Consumer != nil {
			in.Consumer = pc.Consumer.ID
		}
		if pc.Credential != nil {
			in.Credential = pc.Credential.Meta().ID
		}
	}
	if names := p.HashFields(); len(names) > 0 {
		in.Header = viewFields(x.r.Header(), names)
	}
	key, cookie := p.HashKey(&in)
	x.cookie = cookie
	return key
}

// viewFields copies the fields of hdr named names into a map, less those
// a Connection field names (forwardHeader drops them).
func viewFields(hdr *h1.Header, names []string) http.Header {
	out := make(http.Header, len(names))
	conn := hdr.Has("Connection")
	for _, name := range names {
		key := textproto.CanonicalMIMEHeaderKey(name)
		if _, done := out[key]; done || conn && named(hdr, []byte(key)) {
			continue
		}
		for i := range hdr.Len() {
			if f, v := hdr.At(i); textproto.CanonicalMIMEHeaderKey(string(f)) == key {
				out[key] = append(out[key], string(v))
			}
		}
	}
	return out
}
