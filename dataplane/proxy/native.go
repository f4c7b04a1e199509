package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	view "github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// The native path serves an HTTP/1.x request straight from h1's request
// to the upstream client and from the upstream's response to h1's
// response: no *http.Request, no map of the client's fields, no context
// of the proxy's. It takes the requests that need nothing more (see
// serveNative): a route whose plugins all run on the view
// (plugin.Set.OnView: key-auth without key_in_body, rate-limiting with
// the local policy, cors, acl, correlation-id but its tracker
// generator, request-transformer changing neither method, body nor
// Host, basic-auth, jwt, response-transformer, ip-restriction,
// request-size-limiting, bot-detection, response-ratelimiting with its
// local store, and the loggers
// prometheus, statsd, datadog, http-log, file-log, udp-log, tcp-log,
// syslog: docs/h1.md's table),
// or none, to a plain-HTTP service (on none, or an upstream that does not hash or
// hashes on what the view holds: nativeHashes), a
// request without a body that h1Client sends (a replayable method, no
// upgrade), an origin-form target whose path net/http would keep as it
// is. Every other request goes through the adapter (frontend_h1.go) and
// ServeHTTP, which answers it as before; what the client and the
// upstream see is the same on both paths (native_test.go compares them).

// nativeExchange is one native request's state, allocated at once and
// reused (nativePool).
type nativeExchange struct {
	exchange
	// pcBuf is the plugins' context of a request with plugins, reset for
	// each (plugin.Context.Reset): nothing holds it past the request,
	// the loggers on the view keeping nothing (plugin.ViewLogger) and
	// the answers and filters running before serveNative returns; entry
	// is the loggers' (finishNative).
	pcBuf plugin.Context
	entry plugin.LogEntry
	// lastClient and lastIP are the client address whose string the
	// exchange made last, kept across reuse (free): requests of one
	// keep-alive connection, served one after another, mostly get the
	// exchange the one before put back, and their ClientIP is made once.
	lastClient netip.Addr
	lastIP     string
	// memo is the last route's service and Series, kept across reuse
	// as lastIP is (exchange.memo points to it).
	memo routeMemo

	s  *Server
	r  *h1.Request
	fw frontWriter
	// aborts is the request's client-abort guard, registered with h1
	// (OnAbort) and forgotten (OnAbort(nil)) before the exchange goes
	// back to the pool.
	aborts nativeGuard
	// method is the request method; uri the upstream request-target's
	// path and query the target's "?query" ("" without one).
	method, uri string
	query       []byte
	// upHost is the attempt's Host for a target of an upstream, "" for
	// the service's (or the client's, preserve_host).
	upHost string
	// path is the target's path when it is plain; else fwdPath and
	// logPath are the client's path as net/http's URL has it, escaped
	// (X-Forwarded-Path) and decoded (the access log).
	path             []byte
	fwdPath, logPath string
	// view is the upstream's response when read as a view (upview.go).
	view upView
	// logFields are the fields relayView wrote, copied for a request
	// with a Recorder (headNote), which its log entry reads
	// (LogEntry.ResponseFields); their storage is kept across reuse.
	logFields h1.Header
	// client is the client's address; local the listener's. The
	// exchange's clientIP and host are made of them only when something
	// reads them as strings (strings); the upstream head is written from
	// them and the request's Host (appendForwarded).
	client netip.Addr
	local  *net.TCPAddr
}

// nativePool keeps the exchanges, whose state nothing holds once
// serveNative returns (the plugin context in it included).
var nativePool = sync.Pool{New: func() any { return new(nativeExchange) }}

// nativeGuard is a native request's client-abort guard (connGuard,
// h1.Aborter): held is the upstream connection in use (or the dial in
// progress), closed when h1 tells the request its client went away
// (gone). It lives in the exchange, which is reused: h1 is told to
// forget it (Request.OnAbort(nil), after which h1 is not telling it and
// will not) before the exchange is freed.
type nativeGuard struct {
	mu   sync.Mutex
	held io.Closer
	gone error
}

// Abort implements h1.Aborter: the client went away (or the server
// closed), so the upstream connection in use is closed, which ends the
// exchange's blocked read or write, and the request fails with a
// context.Canceled (logged 499).
func (g *nativeGuard) Abort(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone != nil {
		return
	}
	g.gone = fmt.Errorf("%w: %w", context.Canceled, cause)
	if g.held != nil {
		_ = g.held.Close()
	}
}

// hold implements connGuard.
func (g *nativeGuard) hold(c io.Closer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone != nil {
		return g.gone
	}
	g.held = c
	return nil
}

// release implements connGuard.
func (g *nativeGuard) release() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = nil
	return g.gone == nil
}

// abandoned implements connGuard.
func (g *nativeGuard) abandoned() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gone
}

// strings sets the exchange's clientIP, host and port, for what reads
// them as strings (plugins, the hash, the access line, error pages).
func (x *nativeExchange) strings() {
	if x.host != "" {
		return
	}
	x.ipString()
	x.host, x.port = x.s.hostPort(string(x.r.Host()), x.local, x.r.TLS() != nil)
}

// ipString sets the exchange's clientIP, what the plugins read (their
// context's ClientIP): the string made for the same address before when
// the exchange has it.
func (x *nativeExchange) ipString() {
	if x.clientIP != "" {
		return
	}
	if x.lastIP == "" || x.lastClient != x.client {
		x.lastClient, x.lastIP = x.client, x.client.String()
	}
	x.clientIP = x.lastIP
}

// serveNative serves r on the native path and reports true, or reports
// false, having written nothing, for a request the adapter serves. lp,
// when not nil, is the listener's port and its name, known to the
// Frontend (else the port's name is looked up).
func (s *Server) serveNative(w *h1.Response, r *h1.Request, lp *listenerPort) bool {
	c := s.cur.Load()
	if c == nil || s.opts.AccessLog != nil || r.HasBody() || r.Upgrade() {
		return false
	}
	method := nativeMethod(r.Method())
	target := r.Target()
	if method == "" || len(target) == 0 || target[0] != '/' || r.Header().Has("Upgrade") {
		return false
	}
	local, ok := r.LocalAddr().(*net.TCPAddr)
	client := r.ClientAddr()
	if !ok || !client.IsValid() {
		return false
	}
	path, query, plain, ok := splitTarget(target)
	if !ok {
		return false
	}
	x := nativePool.Get().(*nativeExchange)
	x.s, x.r, x.method, x.query, x.client, x.local = s, r, method, query, client.Addr(), local
	ex := &x.exchange
	ex.start = time.Now()
	if !c.router.MatchRequest(view.H1Request{R: r}, local.Port, &ex.matched) || ex.matched.Service == nil {
		x.free()
		return false
	}
	m := &ex.matched
	svc := x.memo.service(c, m)
	ex.scheme = "http"
	if r.TLS() != nil {
		ex.scheme = "https"
	}
	if svc == nil || svc.grpc || svc.scheme != "http" || svc.pool != nil && svc.pool.Hashing() && !nativeHashes(svc.pool) ||
		len(m.Route.Protocols) > 0 && !slices.Contains(m.Route.Protocols, ex.scheme) ||
		!m.Route.PreserveHost && !plainHost(svc.hostHeader) || m.Route.PreserveHost && !plainHost(string(r.Host())) {
		x.free()
		return false
	}
	if plain {
		x.path = path
	} else {
		u, err := url.ParseRequestURI(string(target))
		if err != nil {
			x.free()
			return false
		}
		x.fwdPath, x.logPath = u.EscapedPath(), u.Path
	}

	if lp != nil && lp.num == local.Port {
		ex.port = lp.name
	} else {
		ex.port = s.portName(local.Port)
	}
	if s.opts.AccessLogWriter != nil || svc.pool != nil && svc.pool.Hashing() {
		x.strings()
	}
	var pc *plugin.Context
	if !c.plugins.Empty() {
		x.ipString()
		pc = &x.pcBuf
		pc.Reset(m.Route, m.Service, m.Captures, ex.clientIP)
		if !c.plugins.OnView(pc) {
			x.free()
			return false
		}
		pc.Start = ex.start
		pc.SetRequestIDSource(ex)
		pc.Connection, pc.ConnectionRequests = r.Conn()
	}

	ex.c, ex.match, ex.svc, ex.direct, ex.pc, ex.memo = c, m, svc, true, pc, &x.memo
	ex.tryAtStart = pc == nil && svc.pool == nil
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	x.fw.w = w
	ex.rec.ResponseWriter = &x.fw
	defer func() {
		if ex.target != nil {
			ex.target.Done(ex.received.Sub(ex.sent))
		}
		s.finishNative(x)
		if ex.guard != nil {
			r.OnAbort(nil)
		}
		x.free()
	}()
	if pc != nil {
		stripHopView(r.Header())
		if resp := c.plugins.AccessView(pc, view.H1Request{R: r}); resp != nil {
			x.strings()
			s.exit(&ex.rec, x.adapted(), ex, resp)
			x.fw.finish()
			return true
		}
		if q, ok := pc.UpstreamQuery(); ok {
			x.query = nil
			if q != "" {
				x.query = []byte("?" + q)
			}
		}
	}
	ex.upstreamPath = upstreamPath(svc.base, m.Path, m.Prefix, m.Route.StripPath)
	if pc != nil && pc.UpstreamPath != "" {
		ex.upstreamPath = pc.UpstreamPath
	}
	x.uri = upstreamTarget(ex.upstreamPath)
	var key string
	if svc.pool != nil && svc.pool.Hashing() {
		key = x.hashKey()
	}
	// No context per request: h1 tells x when the client goes away, and
	// x closes the upstream connection (connGuard).
	g := &x.aborts
	ex.guard = g
	r.OnAbort(g)
	ex.owner = ownerOf(r)
	if ex.owner != nil {
		ex.client, _ = r.NetConn().(writeRoomer)
	}
	if ex.cookie == nil && (pc == nil || c.plugins.HeadersOnView(pc)) {
		// Without plugins whose response phases need the map (only
		// ViewHeaderFilters, whose fields relayView writes), or a
		// hashing cookie to set, which decorate adds, the response
		// needs no header map.
		ex.view, x.view.buffering = &x.view, m.Route.ResponseBuffering
	}
	res, err := s.attempts(context.Background(), ex, method, key, nil, x)
	switch {
	case err != nil:
		x.fail(err)
	case x.view.ok:
		if s.viewed != nil {
			s.viewed()
		}
		x.relayView()
	default:
		s.relay(&ex.rec, ex, res, x.fail)
	}
	x.fw.finish()
	return true
}

// free returns x, done with, to nativePool, cleared but for the client
// address's string, the route memo and logFields' storage; the plugins'
// states go back to their pools.
func (x *nativeExchange) free() {
	x.pcBuf.Release()
	client, ip, memo, fields := x.lastClient, x.lastIP, x.memo, x.logFields
	*x = nativeExchange{}
	fields.Reset()
	x.lastClient, x.lastIP, x.memo, x.logFields = client, ip, memo, fields
	nativePool.Put(x)
}

// send implements attempt: the request goes to addr through the service's
// h1Client, with the Host host when it is not "".
func (x *nativeExchange) send(addr, host string) (*http.Response, error) {
	if host != "" && !plainHost(host) {
		// Targets and host_header are validated host names and
		// addresses: Request.Write would have to convert this one.
		return nil, fmt.Errorf("upstream target's Host %q", host)
	}
	x.upHost = host
	c := x.svc.h1()
	if x.owner != nil && !c.loopDials(addr) {
		// A name to resolve: DNS would block the event loop.
		if err := x.detach(); err != nil {
			return nil, err
		}
	}
	return c.send(context.Background(), &x.exchange, addr, x.method, x, nil)
}

// appendHead implements requestHead: the upstream request's head, as
// forward and appendRequest write it for the adapted request.
func (x *nativeExchange) appendHead(b []byte) ([]byte, error) {
	b = append(b, x.method...)
	b = append(b, ' ')
	b = append(b, x.uri...)
	b = append(b, x.query...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if x.upHost != "" {
		b = append(b, x.upHost...)
	} else if x.match.Route.PreserveHost {
		b = append(b, x.r.Host()...)
	} else {
		b = append(b, x.svc.hostHeader...)
	}
	b = append(b, "\r\n"...)
	fwdPath := x.path
	if fwdPath == nil {
		fwdPath = []byte(x.fwdPath)
	}
	return x.appendForwarded(b, fwdPath), nil
}

// fail answers an upstream request that failed with err, on the adapted
// request, made now: error pages are rare and render from its fields.
func (x *nativeExchange) fail(err error) {
	x.strings()
	x.s.upstreamError(&x.rec, x.adapted(), &x.exchange, err)
}

// adapted is the request adapted to an *http.Request, for what renders
// from its fields (error pages, a plugin's answer).
func (x *nativeExchange) adapted() *http.Request {
	req := new(http.Request)
	if !adaptRequest(req, x.r) {
		req.Header = http.Header{}
	}
	return req
}

// stripHopView removes from h what stripHop removes from the adapted
// request's fields before the plugins read them: the hop-by-hop fields
// and those Connection names, keeping "Te: trailers". (Upgrade requests
// do not take the native path.)
func stripHopView(h *h1.Header) {
	if !h.Has("Connection") && !h.Has("Te") && !h.Has("Keep-Alive") && !h.Has("Proxy-Connection") {
		return
	}
	var named []string
	h.Values("Connection", func(v []byte) bool {
		for f := range strings.SplitSeq(string(v), ",") {
			if f = textproto.TrimString(f); f != "" {
				named = append(named, f)
			}
		}
		return true
	})
	te := false
	h.Values("Te", func(v []byte) bool {
		te = hasToken(string(v), "trailers")
		return !te
	})
	for _, f := range named {
		h.Del(f)
	}
	for _, f := range [...]string{"Connection", "Upgrade", "Te", "Keep-Alive", "Proxy-Connection"} {
		h.Del(f)
	}
	if te {
		h.Set("Te", "trailers")
	}
}

// finishNative is finish for a native request: the plugins' loggers
// (ViewLoggers, plugin.Set.OnView) get the view's entry.
func (s *Server) finishNative(x *nativeExchange) {
	ex := &x.exchange
	logs := ex.pc != nil && ex.c.plugins.Logs(ex.pc)
	status, end, up, px, route, svc := s.observe(&ex.rec, ex, s.opts.AccessLogWriter != nil || logs)
	if logs {
		x.entry = plugin.LogEntry{Status: status, Bytes: ex.rec.bytes, Upstream: up, Proxy: px,
			Total: end.Sub(ex.start), Proxied: !ex.received.IsZero()}
		x.fillEntry(&x.entry)
		ex.c.plugins.LogView(ex.pc, &x.entry)
	}
	if s.opts.AccessLogWriter != nil {
		x.strings()
		path := x.logPath
		if x.path != nil {
			path = string(x.path)
		}
		s.writeAccessLine(x.method, path, ex, end, status, route, svc, ex.rec.bytes, up, px)
	}
}

// appendForwarded appends the header fields the upstream gets for the
// client's fields, as forwardHeader, prepare and appendRequest make
// them of the adapted request: the client's fields less the hop-by-hop
// ones, those Connection names and those the proxy sets (Host was
// written), then X-Forwarded-*, Via and the request id. Field names are
// in net/http's canonical form.
func (x *nativeExchange) appendForwarded(b, fwdPath []byte) []byte {
	s, hdr, ex := x.s, x.r.Header(), &x.exchange
	conn := hdr.Has("Connection")
	// The fields h1's parser checked (no plugin added any) have token
	// names and values with nothing to trim nor replace: they are copied
	// as they are, the names made canonical only when they are not.
	checked := hdr.Checked()
	var kb [64]byte
	ua, te := false, false
	var xff, via bool
	for i := range hdr.Len() {
		name, value := hdr.At(i)
		var key []byte
		if checked {
			key = canonicalToken(kb[:0], name)
		} else {
			key = appendCanonical(kb[:0], name)
		}
		if conn && named(hdr, key) && string(key) != "Te" {
			continue
		}
		switch string(key) {
		case "Te":
			te = te || hasToken(string(value), "trailers")
			continue
		case "User-Agent":
			// Request.Write sends the first value only, not when empty.
			if !ua && len(value) > 0 {
				b = appendField(b, key, value)
			}
			ua = true
			continue
		case "X-Forwarded-For":
			xff = true
			continue
		case "Via":
			via = true
			continue
		case headerRequestID:
			if s.opts.RequestID {
				continue
			}
		}
		if hopOrForwarded(string(key)) || unwritten(string(key)) {
			continue
		}
		if checked {
			b = appendOwn(b, key, value)
			continue
		}
		b = appendField(b, key, value)
	}
	if te {
		b = append(b, "Te: trailers\r\n"...)
	}
	var ipb [48]byte
	ip := x.client.AppendTo(ipb[:0])
	if xff {
		b = appendJoined(b, "X-Forwarded-For", hdr, xff, ip)
	} else {
		b = appendOwn(b, "X-Forwarded-For", ip)
	}
	b = appendOwn(b, "X-Real-Ip", ip)
	b = appendOwn(b, "X-Forwarded-Proto", ex.scheme)
	b = append(b, "X-Forwarded-Host: "...)
	start := len(b)
	b = appendValueEnd(x.appendHost(b), start)
	b = appendOwn(b, "X-Forwarded-Port", ex.port)
	b = appendField(b, "X-Forwarded-Path", fwdPath)
	if ex.match.Route.StripPath && ex.match.Prefix != "" && ex.match.Prefix != "/" {
		b = appendField(b, "X-Forwarded-Prefix", ex.match.Prefix)
	}
	b = appendJoined(b, "Via", hdr, via, s.via)
	if s.opts.RequestID {
		b = appendOwn(b, headerRequestID, ex.ridBytes())
	}
	return append(b, "\r\n"...)
}

// appendOwn appends the field key with a value the proxy made (an
// address, a scheme, a port number, a request id), which has no line
// end nor white space to trim: appendField's checks would find nothing.
func appendOwn[K, V string | []byte](b []byte, key K, v V) []byte {
	b = append(b, key...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// appendHost appends the request's host as hostPort and nginxHost make
// it of its Host (X-Forwarded-Host), without making the string for the
// common Host, a name or IPv4 address in ASCII with at most a port (a
// bracket anywhere is hostPort's: net.SplitHostPort refuses "a]:81").
func (x *nativeExchange) appendHost(b []byte) []byte {
	raw := x.r.Host()
	if x.host != "" || bytes.ContainsAny(raw, "[]") || bytes.Count(raw, []byte(":")) > 1 {
		x.strings()
		return append(b, x.host...)
	}
	for _, c := range raw {
		if c >= 0x80 {
			x.strings()
			return append(b, x.host...)
		}
	}
	if i := bytes.IndexByte(raw, ':'); i >= 0 {
		raw = raw[:i]
	}
	for _, c := range bytes.TrimSuffix(raw, []byte(".")) {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendJoined appends the field key: the values of the client's fields
// of that name (when prior) and last, joined with ", ", as appendVia and
// prepare join them.
func appendJoined[V string | []byte](b []byte, key string, hdr *h1.Header, prior bool, last V) []byte {
	if !prior {
		return appendField(b, key, last)
	}
	b = append(b, key...)
	b = append(b, ": "...)
	start := len(b)
	hdr.Values(key, func(v []byte) bool {
		b = append(b, v...)
		b = append(b, ", "...)
		return true
	})
	b = append(b, last...)
	return appendValueEnd(b, start)
}

// named reports whether a Connection field of hdr names the field key.
func named(hdr *h1.Header, key []byte) bool {
	found := false
	hdr.Values("Connection", func(v []byte) bool {
		for len(v) > 0 && !found {
			tok := v
			if i := bytes.IndexByte(v, ','); i >= 0 {
				tok, v = v[:i], v[i+1:]
			} else {
				v = nil
			}
			found = bytes.EqualFold(bytes.Trim(tok, " \t"), key)
		}
		return !found
	})
	return found
}

// nativeMethod is m when h1Client sends requests of that method (GET,
// HEAD, OPTIONS, TRACE), else "".
func nativeMethod(m []byte) string {
	switch string(m) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return methodString(m)
	}
	return ""
}

// splitTarget splits an origin-form target into its path and its
// "?query" (nil without one); plain says net/http's URL keeps the path as
// it is, escaped and decoded alike. False for a target the native path
// leaves to the adapter: a fragment, bytes outside visible ASCII.
func splitTarget(t []byte) (path, query []byte, plain, ok bool) {
	path = t
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		path, query = t[:i], t[i:]
	}
	for _, c := range query {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return nil, nil, false, false
		}
	}
	plain = true
	for _, c := range path {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return nil, nil, false, false
		}
		plain = plain && plainPathByte[c]
	}
	return path, query, plain, true
}

// plainPathByte marks the bytes net/http's URL keeps as they are in a
// path, escaped (EscapedPath) and decoded (Path) alike.
var plainPathByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			bytes.IndexByte([]byte("-._~$&+,/:;=@"), byte(c)) >= 0
	}
	return t
}()

// upstreamTarget is the request-target's path the upstream gets for the
// path p (setPath, then URL.EscapedPath).
func upstreamTarget(p string) string {
	for i := 0; i < len(p); i++ {
		if !plainPathByte[p[i]] {
			var u url.URL
			setPath(&u, p)
			return u.EscapedPath()
		}
	}
	return p
}

// appendCanonical appends name in net/http's canonical form
// (textproto.CanonicalMIMEHeaderKey) to b.
func appendCanonical(b, name []byte) []byte {
	for _, c := range name {
		if !tchar[c] {
			return append(b, name...)
		}
	}
	return appendCanonicalFrom(b, name, true)
}

// canonicalToken is appendCanonical for a name known to be a token: the
// name itself when it is in canonical form already (the common case,
// nothing copied), else its canonical form appended to b.
func canonicalToken(b, name []byte) []byte {
	upper := true
	for i, c := range name {
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return appendCanonicalFrom(append(b, name[:i]...), name[i:], upper)
		}
		upper = c == '-'
	}
	return name
}

// appendCanonicalFrom appends the token rest in canonical form, upper
// saying whether its first byte starts a word.
func appendCanonicalFrom(b, rest []byte, upper bool) []byte {
	for _, c := range rest {
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		upper = c == '-'
	}
	return b
}
