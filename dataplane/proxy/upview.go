package proxy

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// upView is an upstream response the native path relays from the
// connection's buffer (relayView), with no *http.Response and no header
// map: its head was parsed into the connection (h1Conn.head, fields) and
// stays there until the body is closed. h1Client.exchange reads a
// response this way when the exchange asks for it (exchange.view: a
// request without plugins, or whose plugins' response phases only set
// fields, plugin.Set.HeadersOnView) and takes says the response fits;
// any other goes through relay as before.
type upView struct {
	head respHead
	body h1Body
	// ok says the response came as a view.
	ok bool
	// buffering is the route's response_buffering.
	buffering bool
	// fields are the upstream's fields the plugins read (relayView).
	fields upFields
	// wrote says relayView wrote the head; headSize is its fields' size
	// (each "Name: value\r\n"), which the log entry reports
	// (LogEntry.ResponseHeaderSize) as the map's would be.
	wrote    bool
	headSize int64
}

// headNote is what relayView notes of each field it writes, for the
// log entry: the fields' size, and for a request with a Recorder
// (plugin.Set.Records) the field itself, copied into keep (the
// exchange's logFields: the upstream's buffer and h1's are reused once
// the response is relayed, before the loggers run).
type headNote struct {
	size int64
	keep *h1.Header
}

// add notes the field name: value written.
func (n *headNote) add(name, value []byte) {
	n.size += int64(len(name) + 2 + len(value) + 2)
	if n.keep != nil {
		n.keep.AddBytes(name, value)
	}
}

// addString is add with strings.
func (n *headNote) addString(name, value string) {
	n.size += int64(len(name) + 2 + len(value) + 2)
	if n.keep != nil {
		n.keep.Add(name, value)
	}
}

// upFields is an upstream response's fields as the plugins' header
// filters read them on the view (plugin.UpstreamFields): in the
// upstream's order, those relay's map holds when they run, a hop-by-hop
// field or one a Connection field names (conn: there is one) with an
// empty name.
type upFields struct {
	head   []byte
	fields []fieldSpan
	conn   bool
}

// Len implements plugin.UpstreamFields.
func (u *upFields) Len() int { return len(u.fields) }

// At implements plugin.UpstreamFields.
func (u *upFields) At(i int) (name, value []byte) {
	f := u.fields[i]
	key := u.head[f.name:f.colon]
	if hopHeader(key) || u.conn && connNames(u.head, u.fields, key) {
		return nil, nil
	}
	return key, u.head[f.value:f.end]
}

// takes reports whether the response h read on pc is relayed as a view:
// a final response (not 101) announcing no trailers, without a body or
// with a Content-Length and, when the route buffers responses, a body
// already at hand whole (what the spool would pass through unbuffered:
// its first read returns all of it).
func (v *upView) takes(h *respHead, pc *h1Conn) bool {
	if h.code < 200 || h.code == http.StatusSwitchingProtocols || h.trailer {
		return false
	}
	switch h.framing {
	case bodyNone:
		return true
	case bodyLength:
		return !v.buffering || h.length <= int64(pc.br.Buffered()) && h.length <= 32<<10
	}
	return false
}

// relayView answers the client with the upstream's response read as a
// view, by relay's rules (removeHopHeaders, decorate): the hop-by-hop
// fields and those the Connection fields name are dropped, Via gets the
// proxy's appended (one field), Server is the upstream's or the proxy's,
// the latency fields and the request id are the proxy's; then the
// fields the plugins set, added or deleted (plugin.ViewHeaderFilter), as
// filter changes relay's map: one set or deleted replaces the
// upstream's and the proxy's of its name, but the request id; one added
// comes after them. The fields go
// straight from the connection's buffer into h1's response, in the
// upstream's order; a body at hand whole is written from the buffer too.
// What the client's response has of them is noted for the log entry
// (fillEntry): their size, and the fields themselves only for a request
// with a Recorder, which writes them in Kong's log record.
func (x *nativeExchange) relayView() {
	s, ex, v := x.s, &x.exchange, &x.view
	body := &v.body
	pc := body.pc
	ex.received = ex.since()
	ex.status = v.head.code
	if p := ex.svc.pool; p != nil && ex.target != nil {
		p.Report(ex.target, upstream.Response, v.head.code)
	}
	head, fields := pc.head, pc.fields
	conn := false
	for _, f := range fields {
		if string(head[f.name:f.colon]) == "Connection" {
			conn = true
			break
		}
	}
	// The plugins' fields, set after decorate's as filter sets them
	// (Set.Header): each replaces the upstream's and the proxy's fields
	// of its name but the request id.
	var set []plugin.Field
	if ex.pc != nil {
		v.fields = upFields{head: head, fields: fields, conn: conn}
		ex.pc.SetUpstreamFields(&v.fields)
		ex.c.plugins.HeaderView(ex.pc, v.head.code)
		set = ex.pc.ResponseFields()
	}
	var note headNote
	if ex.pc != nil && ex.c.plugins.Records(ex.pc) {
		x.logFields.Reset()
		note.keep = &x.logFields
	}
	// The head goes straight into h1's write buffer (WriteHead), under
	// the writer's lock as WriteHeader takes it.
	w := x.fw.w
	ex.rec.status = v.head.code
	x.fw.wrote = true
	x.fw.lock()
	w.WriteHead(v.head.code)
	var via []byte
	var viab [128]byte
	server, stream, typed := false, false, false
	for _, f := range fields {
		key, value := head[f.name:f.colon], head[f.value:f.end]
		if hopHeader(key) || conn && connNames(head, fields, key) || len(set) > 0 && setField(set, key) {
			continue
		}
		switch string(key) {
		case "Via":
			if via == nil {
				via = viab[:0]
			}
			via = append(append(via, value...), ", "...)
			continue
		case "Server":
			server = true
		case "Content-Type":
			// The first one is read, as copyBody reads the map's; the
			// prefix first: the string escapes in eventStream.
			if !typed {
				typed = true
				stream = bytes.HasPrefix(value, []byte("text/event-stream")) && eventStream(string(value))
			}
		case "X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency":
			if s.opts.LatencyHeaders {
				continue
			}
		case headerRequestID:
			if s.opts.RequestID {
				continue
			}
		}
		// parseFieldAt checked both (a token, text without control
		// characters): h1 need not check them again.
		w.AddValidField(key, value)
		note.add(key, value)
	}
	switch {
	case len(set) > 0 && setField(set, []byte("Via")):
	case via != nil:
		via = append(via, s.via...)
		w.AddField([]byte("Via"), via)
		note.add([]byte("Via"), via)
	default:
		w.AddFieldString("Via", s.via)
		note.addString("Via", s.via)
	}
	if !server && (len(set) == 0 || !setField(set, []byte("Server"))) {
		w.AddFieldString("Server", s.server)
		note.addString("Server", s.server)
	}
	if s.opts.LatencyHeaders {
		var nb [20]byte
		if len(set) == 0 || !setField(set, []byte("X-Kong-Upstream-Latency")) {
			lat := appendMs(nb[:0], ex.received.Sub(ex.sent))
			w.AddValidField([]byte("X-Kong-Upstream-Latency"), lat)
			note.add([]byte("X-Kong-Upstream-Latency"), lat)
		}
		if len(set) == 0 || !setField(set, []byte("X-Kong-Proxy-Latency")) {
			lat := appendMs(nb[:0], ex.sent.Sub(ex.start))
			w.AddValidField([]byte("X-Kong-Proxy-Latency"), lat)
			note.add([]byte("X-Kong-Proxy-Latency"), lat)
		}
	}
	stream = sentStream(stream, typed, set)
	var vb []byte
	if len(set) > 0 {
		var b [64]byte
		vb = b[:0]
	}
	for _, f := range set {
		if f.Deleted() {
			continue
		}
		if f.Name == headerRequestID && s.opts.RequestID {
			// The proxy's replaces it, as decorate sets it after the
			// plugins.
			continue
		}
		vb = f.AppendValue(vb[:0])
		w.AddField([]byte(f.Name), vb)
		note.add([]byte(f.Name), vb)
	}
	if s.opts.RequestID {
		rid := ex.ridBytes()
		w.AddField([]byte(headerRequestID), rid)
		note.add([]byte(headerRequestID), rid)
	}
	w.EndHead()
	x.fw.unlock()
	v.wrote, v.headSize = true, note.size

	var err error
	if n := body.left; body.framing == bodyLength && n > 0 && n <= int64(pc.br.Buffered()) {
		// The whole body is at hand: written from the buffer.
		p, _ := pc.br.Peek(int(n))
		if _, err = ex.rec.Write(p); err == nil {
			_, _ = pc.br.Discard(int(n))
			body.left, body.eof = 0, true
		}
	} else if !body.eof {
		err = s.copyFrom(&ex.rec, body, stream)
	}
	if err != nil {
		body.Close()
		// The client cannot be told: the response is cut short, as
		// relay does.
		panic(http.ErrAbortHandler)
	}
	body.Close()
}

// sentStream reports whether the response's body is an event stream,
// flushed as it comes (copyFrom), by the Content-Type the client gets:
// the one a plugin set (set) when one did, else the upstream's, an event
// stream when upstream (typed: the upstream's response has one).
// A Content-Type deleted is none, unless one is added after; one only
// added comes after the upstream's, which is the one read (copyBody
// reads the first), or is the first when the upstream sent none.
func sentStream(upstream, typed bool, set []plugin.Field) bool {
	replaced := !typed
	for _, f := range set {
		if f.Name != "Content-Type" {
			continue
		}
		switch {
		case f.Deleted():
			replaced = true
		case !f.Added() || replaced:
			return eventStream(f.String())
		}
	}
	return upstream && typed && !replaced
}

// setField reports whether a plugin replaced the fields key (canonical):
// set or deleted them.
func setField(set []plugin.Field, key []byte) bool {
	for _, f := range set {
		if f.Name == string(key) && !f.Added() {
			return true
		}
	}
	return false
}

// hopHeader reports whether the canonical field name key is one of
// hopHeaders.
func hopHeader(key []byte) bool {
	switch string(key) {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// connNames reports whether a Connection field among fields of head
// names the field key, as removeHopHeaders reads them.
func connNames(head []byte, fields []fieldSpan, key []byte) bool {
	for _, f := range fields {
		if string(head[f.name:f.colon]) != "Connection" {
			continue
		}
		v := head[f.value:f.end]
		for len(v) > 0 {
			tok := v
			if i := bytes.IndexByte(v, ','); i >= 0 {
				tok, v = v[:i], v[i+1:]
			} else {
				v = nil
			}
			if bytes.EqualFold(bytes.Trim(tok, " \t"), key) {
				return true
			}
		}
	}
	return false
}

// appendMs appends d in milliseconds, as ms formats it.
func appendMs(b []byte, d time.Duration) []byte {
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}
