package proxy

import (
	"bytes"
	"net/http"

	view "github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// fillEntry completes the view's log entry e: its sizes, and for a
// Recorder (plugin.Set.Records) the rest of what logEntry puts in the
// adapter's, of the view.
func (x *nativeExchange) fillEntry(e *plugin.LogEntry) {
	x.setSizes(e)
	ex := &x.exchange
	if !ex.c.plugins.Records(ex.pc) {
		return
	}
	x.strings()
	e.View = view.H1Request{R: x.r}
	switch {
	case x.view.wrote:
		// relayView wrote the head, noting its fields (headNote).
		e.ResponseFields = &x.logFields
	case x.fw.header != nil:
		e.ResponseHeader = x.fw.header
	default:
		e.ResponseFields = x.fw.w.Header()
	}
	e.RequestID, e.Scheme, e.Host, e.Port = ex.requestID(), ex.scheme, ex.host, ex.port
	if ex.upstreamPath != "" {
		// The query the upstream got, as the adapted request's URL has
		// it once the plugins changed it.
		q, changed := ex.pc.UpstreamQuery()
		force := false
		if !changed {
			query := x.r.Query()
			q, force = string(query), query != nil
		}
		e.UpstreamURI = ex.upstreamPath
		if q != "" || force {
			e.UpstreamURI += "?" + q
		}
	}
	e.Tries = ex.tries
	if e.Proxied {
		e.UpstreamStatus = ex.status
		e.Receive = max(e.Total-e.Proxy-e.Upstream, 0)
	}
}

// setSizes sets e's RequestSize and ResponseHeaderSize, the sizes the
// loggers on the view read (logrecord.EntryRequestSize, ResponseSize),
// as logrecord makes them of the adapted request and of the response's
// header map: the request line, Host and the other fields as the
// plugins left them, the declared body length; the response's fields,
// those relayView wrote (the size it noted), else the map's when it
// went through one (relay, an answer, an error page), else h1's.
func (x *nativeExchange) setSizes(e *plugin.LogEntry) {
	r := x.r
	n := int64(len(r.Method()) + 1 + len(r.Target()) + 1 + len(r.Proto()) + 2)
	if host := r.Host(); len(host) > 0 {
		n += int64(len("Host: ") + len(host) + 2)
	}
	hdr := r.Header()
	for i := range hdr.Len() {
		name, value := hdr.At(i)
		if bytes.EqualFold(name, []byte("Host")) {
			continue
		}
		n += int64(len(name) + 2 + len(value) + 2)
	}
	n += 2
	if cl := r.ContentLength(); cl > 0 {
		n += cl
	}
	e.RequestSize = n
	switch {
	case x.view.wrote:
		e.ResponseHeaderSize = x.view.headSize
	case x.fw.header != nil:
		e.ResponseHeaderSize = mapSize(x.fw.header)
	default:
		e.ResponseHeaderSize = fieldsSize(x.fw.w.Header())
	}
}

// mapSize is the size of h's fields, each "Name: value\r\n".
func mapSize(h http.Header) int64 {
	var n int64
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	return n
}

// fieldsSize is mapSize of h's fields.
func fieldsSize(h *h1.Header) int64 {
	var n int64
	for i := range h.Len() {
		name, value := h.At(i)
		n += int64(len(name) + 2 + len(value) + 2)
	}
	return n
}
