package exchange

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

var (
	_ Request  = H1Request{}
	_ Response = H1Response{}
	_ Header   = (*h1.Header)(nil)
)

// H1Request is the view of an h1 request: a one-pointer struct, stored in
// a Request without allocating.
type H1Request struct{ R *h1.Request }

func (v H1Request) Method() []byte             { return v.R.Method() }
func (v H1Request) Host() []byte               { return v.R.Host() }
func (v H1Request) Path() []byte               { return v.R.Path() }
func (v H1Request) Query() []byte              { return v.R.Query() }
func (v H1Request) Proto() string              { return v.R.Proto() }
func (v H1Request) Header() Header             { return v.R.Header() }
func (v H1Request) Trailer() Header            { return v.R.Trailer() }
func (v H1Request) ContentLength() int64       { return v.R.ContentLength() }
func (v H1Request) Body() io.Reader            { return v.R.Body() }
func (v H1Request) ClientAddr() netip.AddrPort { return v.R.ClientAddr() }
func (v H1Request) TLS() *tls.ConnectionState  { return v.R.TLS() }

// H1Response is the view of an h1 response.
type H1Response struct{ W *h1.Response }

func (v H1Response) Header() Header              { return v.W.Header() }
func (v H1Response) Trailer() Header             { return v.W.Trailer() }
func (v H1Response) WriteHeader(status int)      { v.W.WriteHeader(status) }
func (v H1Response) Write(p []byte) (int, error) { return v.W.Write(p) }
func (v H1Response) Flush() error                { return v.W.Flush() }
func (v H1Response) Hijack() (net.Conn, error)   { return v.W.Hijack() }
func (v H1Response) Status() int                 { return v.W.Status() }
func (v H1Response) Written() int64              { return v.W.Written() }
