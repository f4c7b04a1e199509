package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// h1Handler serves h1's requests with an http.Handler: the request is
// given to it as net/http would have read it, and its ResponseWriter
// writes the h1 response.
type h1Handler struct {
	px   *Server
	next http.Handler
	// native: next is px, which serves the requests it can on h1's
	// request and response directly (serveNative).
	native bool
	// port is the listener's, set before it serves (Frontend.setup).
	port listenerPort
}

// listenerPort is a listener's port and its decimal name, made once
// (X-Forwarded-Port, $server_port).
type listenerPort struct {
	num  int
	name string
}

// frontExchange is what one request's adaptation allocates, at once.
type frontExchange struct {
	req  http.Request
	ctx  frontContext
	conn conn
	body frontBody
	w    frontWriter
}

// ServeH1 implements h1.Handler.
func (a *h1Handler) ServeH1(w *h1.Response, r *h1.Request) {
	if a.native && a.px.serveNative(w, r, &a.port) {
		return
	}
	// The adapter's work may block (transports, DNS, plugins) and other
	// goroutines read the body and write the response: off the event
	// loop first, when one serves the connection.
	if err := r.Detach(); err != nil {
		a.px.log.Debug("proxy: serving a request off its event loop", "error", err)
		a.px.refuseH1(w, http.StatusInternalServerError, msgUnexpected)
		return
	}
	x := &frontExchange{}
	if !adaptRequest(&x.req, r) {
		a.px.refuseH1(w, http.StatusBadRequest, msgBadRequest)
		return
	}
	// h1 cancels the context when the handler returns and when the client
	// closes the connection while the request is in flight.
	x.ctx = frontContext{Context: r.Context(), local: r.LocalAddr(), conn: &x.conn, req: r}
	id, n := r.Conn()
	x.conn.serial = id
	x.conn.requests.Store(n - 1) // countRequest counts this one
	req := x.req.WithContext(&x.ctx)
	x.w = frontWriter{w: w}
	if r.HasBody() {
		x.body = frontBody{r: r, req: req}
		if r.ExpectContinue() {
			x.body.w, x.w.guard = &x.w, true
		}
		req.Body = &x.body
		defer x.body.close()
	}
	a.next.ServeHTTP(&x.w, req)
	x.w.finish()
}

// adaptRequest fills req from r as net/http's server reads a request;
// false for a target net/http would refuse.
func adaptRequest(req *http.Request, r *h1.Request) bool {
	req.Method = methodString(r.Method())
	req.RequestURI = string(r.Target())
	raw := req.RequestURI
	connect := req.Method == http.MethodConnect && !strings.HasPrefix(raw, "/")
	if connect {
		raw = "http://" + raw
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return false
	}
	if connect {
		u.Scheme = ""
	}
	req.URL = u
	req.Proto, req.ProtoMajor, req.ProtoMinor = r.Proto(), 1, r.ProtoMinor()
	req.Host = string(r.Host())
	hdr := r.Header()
	req.Header = make(http.Header, hdr.Len())
	for i := range hdr.Len() {
		name, value := hdr.At(i)
		key := canonicalKey(name)
		if key == "Host" {
			continue
		}
		req.Header[key] = append(req.Header[key], string(value))
	}
	req.Close = r.Close()
	req.RemoteAddr = r.ClientAddr().String()
	req.TLS = r.TLS()
	req.ContentLength = r.ContentLength()
	if r.Chunked() {
		req.TransferEncoding = []string{"chunked"}
		for _, v := range req.Header["Trailer"] {
			for name := range strings.SplitSeq(v, ",") {
				if name = textproto.TrimString(name); name != "" {
					if req.Trailer == nil {
						req.Trailer = http.Header{}
					}
					req.Trailer[textproto.CanonicalMIMEHeaderKey(name)] = nil
				}
			}
		}
	}
	req.Body = http.NoBody
	return true
}

// methodString is m as a string, without allocating for the common
// methods.
func methodString(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodHead:
		return http.MethodHead
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodTrace:
		return http.MethodTrace
	}
	return string(m)
}

// canonicalKey is name in net/http's canonical form.
func canonicalKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

// commonKeys maps the usual spellings of common field names to their
// canonical form.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "If-Modified-Since", "If-None-Match",
		"Origin", "Referer", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id", "Apikey", "Expect"} {
		m[k] = k
		m[strings.ToLower(k)] = k
	}
	return m
}()

// frontContext is a request's context: the values net/http's server puts in
// it (the local address), the connection's request counter, and h1's
// request, which the proxy routes on (h1RequestKey).
type frontContext struct {
	context.Context
	local net.Addr
	conn  *conn
	req   *h1.Request
}

// h1RequestKey is the context key of the h1 request an *http.Request was
// adapted from. Handlers between the Frontend and the proxy pass requests
// on unchanged, so the view and the adapted request say the same.
type h1RequestKey struct{}

// Value implements context.Context.
func (c *frontContext) Value(key any) any {
	switch key {
	case http.LocalAddrContextKey:
		return c.local
	case connKey{}:
		return c.conn
	case h1RequestKey{}:
		return c.req
	}
	return c.Context.Value(key)
}

// frontBody is a request's body. Once the handler returned, h1 reuses the
// request: reads (an upstream transport still sending it) fail then.
type frontBody struct {
	r   *h1.Request
	req *http.Request
	// w, until the first read, is the response's writer when the client
	// waits for "100 Continue": the read sends it, ordered against the
	// response's writes (the body may be read by another goroutine, an
	// upstream client's body writer).
	w   *frontWriter
	mu  sync.Mutex
	eof bool
	// closed: the handler returned.
	closed bool
}

// Read implements io.Reader; at the end of a chunked body the trailer's
// fields are merged into the request's Trailer, as net/http does.
func (b *frontBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.w != nil {
		b.w.mu.Lock()
		b.r.Continue()
		b.w.mu.Unlock()
		b.w = nil
	}
	n, err := b.r.Body().Read(p)
	if err == io.EOF {
		b.eof = true
		trl := b.r.Trailer()
		for i := range trl.Len() {
			name, value := trl.At(i)
			if b.req.Trailer == nil {
				b.req.Trailer = http.Header{}
			}
			k := canonicalKey(name)
			b.req.Trailer[k] = append(b.req.Trailer[k], string(value))
		}
	}
	return n, err
}

// Close implements io.Closer: h1 reads what is left of the body.
func (b *frontBody) Close() error { return nil }

func (b *frontBody) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// frontWriter is an http.ResponseWriter writing an h1 response.
type frontWriter struct {
	w      *h1.Response
	header http.Header
	// wrote: the final head is written.
	wrote    bool
	hijacked bool
	// trailers are the names the Trailer field announced.
	trailers []string
	// mu, when guard is set, orders the writes to w against the "100
	// Continue" the body's first read sends (frontBody.w).
	guard bool
	mu    sync.Mutex
}

// lock locks mu when the writes need it; unlock undoes lock.
func (x *frontWriter) lock() {
	if x.guard {
		x.mu.Lock()
	}
}

func (x *frontWriter) unlock() {
	if x.guard {
		x.mu.Unlock()
	}
}

var (
	_ http.ResponseWriter = (*frontWriter)(nil)
	_ http.Flusher        = (*frontWriter)(nil)
	_ http.Hijacker       = (*frontWriter)(nil)
)

// Header implements http.ResponseWriter.
func (x *frontWriter) Header() http.Header {
	if x.header == nil {
		x.header = make(http.Header)
	}
	return x.header
}

// adopt makes h the response's header map when none was made yet (the
// fields set so far are h's); false otherwise.
func (x *frontWriter) adopt(h http.Header) bool {
	if x.header != nil {
		return false
	}
	x.header = h
	return true
}

// WriteHeader implements http.ResponseWriter: the fields set so far go
// out with the head (with a 103's too); those the Trailer field names
// are sent after the body.
func (x *frontWriter) WriteHeader(status int) {
	if x.wrote || x.hijacked {
		return
	}
	final := status >= 200 || status == http.StatusSwitchingProtocols
	h := x.w.Header()
	h.Reset()
	for k, vv := range x.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		if k == "Trailer" && final {
			for _, v := range vv {
				for name := range strings.SplitSeq(v, ",") {
					if name = textproto.TrimString(name); name != "" {
						x.trailers = append(x.trailers, textproto.CanonicalMIMEHeaderKey(name))
					}
				}
			}
			x.w.Trailer()
		}
		for _, v := range vv {
			h.Add(k, v)
		}
	}
	x.wrote = final
	x.lock()
	x.w.WriteHeader(status)
	x.unlock()
}

// Write implements http.ResponseWriter.
func (x *frontWriter) Write(p []byte) (int, error) {
	if !x.wrote {
		x.WriteHeader(http.StatusOK)
	}
	x.lock()
	defer x.unlock()
	return x.w.Write(p)
}

// Flush implements http.Flusher.
func (x *frontWriter) Flush() { _ = x.FlushError() }

// FlushError sends what is buffered (http.ResponseController.Flush).
func (x *frontWriter) FlushError() error {
	if !x.wrote {
		x.WriteHeader(http.StatusOK)
	}
	x.lock()
	defer x.unlock()
	return x.w.Flush()
}

// Hijack implements http.Hijacker: the connection is handed over with
// the bytes the client sent past the head.
func (x *frontWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	x.lock()
	c, err := x.w.Hijack()
	x.unlock()
	if err != nil {
		return nil, nil, err
	}
	x.hijacked = true
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// finish sets the trailer's fields when the handler returns: the values
// of the names announced, and those set with http.TrailerPrefix.
func (x *frontWriter) finish() {
	if x.hijacked {
		return
	}
	if !x.wrote {
		if x.w.Status() != 0 {
			// Only informational responses were written.
			x.WriteHeader(http.StatusOK)
		}
		return
	}
	for _, k := range x.trailers {
		for _, v := range x.header[k] {
			x.w.Trailer().Add(k, v)
		}
	}
	for k, vv := range x.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vv {
				x.w.Trailer().Add(name, v)
			}
		}
	}
}

// refuseH1 is h1's Server.Refuse: a request the server refused itself
// (a bad or oversized head, a body announced past MaxBodySize) is
// answered with Kong's error page.
func (s *Server) refuseH1(w *h1.Response, status int, msg string) {
	rid := newRequestID()
	resp := plugin.ErrorPage(status, msg)
	resp.Render(&http.Request{Header: http.Header{}}, rid)
	h := w.Header()
	for k, vv := range resp.Header {
		for _, v := range vv {
			h.Add(k, v)
		}
	}
	h.Set("Connection", "close")
	h.Set("Server", s.server)
	if s.opts.RequestID {
		h.Set(headerRequestID, rid)
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}
