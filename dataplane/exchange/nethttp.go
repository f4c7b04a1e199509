package exchange

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"unsafe"
)

var (
	_ Request  = (*HTTPRequest)(nil)
	_ Response = (*HTTPResponse)(nil)
)

// HTTPRequest is the view of a net/http request (the HTTP/2 path): it
// reads the request's header map in place. Reuse one per connection or
// pool them; Reset points it at the next request.
type HTTPRequest struct {
	r       *http.Request
	header  httpHeader
	trailer httpHeader
	addr    netip.AddrPort
}

// NewHTTPRequest returns the view of r.
func NewHTTPRequest(r *http.Request) *HTTPRequest {
	v := &HTTPRequest{}
	v.Reset(r)
	return v
}

// Reset makes v the view of r.
func (v *HTTPRequest) Reset(r *http.Request) {
	v.r = r
	v.header.reset(&r.Header, "")
	v.trailer.reset(&r.Trailer, "")
	v.addr, _ = netip.ParseAddrPort(r.RemoteAddr)
}

func (v *HTTPRequest) Method() []byte { return bytesOf(v.r.Method) }
func (v *HTTPRequest) Host() []byte   { return bytesOf(v.r.Host) }

// Path is the escaped path (URL.EscapedPath, which allocates only for a
// path net/http had to unescape differently).
func (v *HTTPRequest) Path() []byte { return bytesOf(v.r.URL.EscapedPath()) }

func (v *HTTPRequest) Query() []byte {
	if v.r.URL.RawQuery == "" && !v.r.URL.ForceQuery {
		return nil
	}
	return bytesOf(v.r.URL.RawQuery)
}

func (v *HTTPRequest) Proto() string              { return v.r.Proto }
func (v *HTTPRequest) Header() Header             { return &v.header }
func (v *HTTPRequest) Trailer() Header            { return &v.trailer }
func (v *HTTPRequest) ContentLength() int64       { return v.r.ContentLength }
func (v *HTTPRequest) Body() io.Reader            { return v.r.Body }
func (v *HTTPRequest) ClientAddr() netip.AddrPort { return v.addr }
func (v *HTTPRequest) TLS() *tls.ConnectionState  { return v.r.TLS }

// HTTPResponse is the view of a net/http ResponseWriter.
type HTTPResponse struct {
	w       http.ResponseWriter
	header  httpHeader
	trailer httpHeader
	status  int
	written int64
	hmap    http.Header
}

// NewHTTPResponse returns the view of w.
func NewHTTPResponse(w http.ResponseWriter) *HTTPResponse {
	v := &HTTPResponse{}
	v.Reset(w)
	return v
}

// Reset makes v the view of w.
func (v *HTTPResponse) Reset(w http.ResponseWriter) {
	v.w, v.status, v.written, v.hmap = w, 0, 0, w.Header()
	v.header.reset(&v.hmap, "")
	v.trailer.reset(&v.hmap, http.TrailerPrefix)
}

func (v *HTTPResponse) Header() Header  { return &v.header }
func (v *HTTPResponse) Trailer() Header { return &v.trailer }

func (v *HTTPResponse) WriteHeader(status int) {
	if status >= 200 || status == http.StatusSwitchingProtocols {
		if v.status != 0 {
			return
		}
		v.status = status
	}
	v.w.WriteHeader(status)
}

func (v *HTTPResponse) Write(p []byte) (int, error) {
	if v.status == 0 {
		v.status = http.StatusOK
	}
	n, err := v.w.Write(p)
	v.written += int64(n)
	return n, err
}

func (v *HTTPResponse) Flush() error { return http.NewResponseController(v.w).Flush() }

// Hijack takes an HTTP/1.1 connection over; HTTP/2 refuses.
func (v *HTTPResponse) Hijack() (net.Conn, error) {
	conn, rw, err := http.NewResponseController(v.w).Hijack()
	if err != nil {
		return nil, err
	}
	if rw.Reader.Buffered() > 0 {
		conn.Close()
		return nil, errors.New("exchange: bytes buffered past the hijacked request")
	}
	return conn, nil
}

func (v *HTTPResponse) Status() int    { return v.status }
func (v *HTTPResponse) Written() int64 { return v.written }

// httpHeader views an http.Header; prefix names trailers announced as
// net/http does (http.TrailerPrefix).
type httpHeader struct {
	h      *http.Header
	prefix string
	fields [][2][]byte
	built  bool
}

func (x *httpHeader) reset(h *http.Header, prefix string) {
	x.h, x.prefix, x.built = h, prefix, false
	clear(x.fields)
	x.fields = x.fields[:0]
}

// key is the map key of name: name itself when canonical (no
// allocation), else its canonical form.
func (x *httpHeader) key(name string) string {
	if x.prefix == "" {
		if _, ok := (*x.h)[name]; ok {
			return name
		}
	}
	return x.prefix + textproto.CanonicalMIMEHeaderKey(name)
}

func (x *httpHeader) Get(name string) []byte {
	if *x.h == nil {
		return nil
	}
	if vv := (*x.h)[x.key(name)]; len(vv) > 0 {
		return bytesOf(vv[0])
	}
	return nil
}

func (x *httpHeader) Values(name string, fn func([]byte) bool) {
	if *x.h == nil {
		return
	}
	for _, v := range (*x.h)[x.key(name)] {
		if !fn(bytesOf(v)) {
			return
		}
	}
}

func (x *httpHeader) build() {
	if x.built {
		return
	}
	x.fields = x.fields[:0]
	for k, vv := range *x.h {
		for _, v := range vv {
			x.fields = append(x.fields, [2][]byte{bytesOf(k), bytesOf(v)})
		}
	}
	x.built = true
}

func (x *httpHeader) Len() int {
	x.build()
	return len(x.fields)
}

func (x *httpHeader) At(i int) (name, value []byte) {
	x.build()
	return x.fields[i][0], x.fields[i][1]
}

func (x *httpHeader) init() {
	if *x.h == nil {
		*x.h = http.Header{}
	}
	x.built = false
}

func (x *httpHeader) Set(name, value string) {
	x.init()
	(*x.h)[x.key(name)] = []string{value}
}

func (x *httpHeader) Add(name, value string) {
	x.init()
	k := x.key(name)
	(*x.h)[k] = append((*x.h)[k], value)
}

func (x *httpHeader) AddBytes(name, value []byte) { x.Add(string(name), string(value)) }

func (x *httpHeader) Del(name string) {
	if *x.h == nil {
		return
	}
	x.built = false
	delete(*x.h, x.key(name))
}

// bytesOf views s as bytes; the caller must not write to them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
