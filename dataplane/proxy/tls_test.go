package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestHTTPSUpstream(t *testing.T) {
	t.Parallel()
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	host, p, _ := net.SplitHostPort(up.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	svc := func(id string, verify bool) *model.Service {
		s := service(id, host, port, "/tls")
		s.Protocol, s.TLSVerify = "https", ptr(verify)
		return s
	}
	cfg := &model.Config{
		Services: []*model.Service{svc("insecure", false), svc("verified", true)},
		Routes:   []*model.Route{route("insecure", "insecure", "/insecure"), route("verified", "verified", "/verified")},
	}
	_, front := newProxy(t, cfg)

	res, e := get(t, front, "/insecure/x")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "HTTP/1.1 /tls/x", e.Body, "HTTP/1.1 to TLS upstreams, as Kong, whatever they offer")

	res, _ = get(t, front, "/verified/x")
	assert.Equal(t, http.StatusBadGateway, res.StatusCode, "tls_verify rejects an untrusted certificate")
}

func TestTLSListener(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	secure := route("secure", "s", "/secure")
	secure.Protocols = []string{"https"}
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{secure},
	}
	px := proxy.New(proxy.Options{Version: "test"})
	require.NoError(t, px.Apply(t.Context(), cfg, 1, "test"))
	front := proxytest.NewTLS(t, px.Frontend(nil))
	defer front.Close()
	defer px.Close()
	_, port, _ := net.SplitHostPort(front.Listener.Addr().String())

	res, e := get(t, front, "/secure/x")
	require.Equal(t, http.StatusOK, res.StatusCode, "an https-only route is served over TLS")
	assert.Equal(t, "https", e.Header.Get("X-Forwarded-Proto"))
	assert.Equal(t, port, e.Header.Get("X-Forwarded-Port"))
}

// refusing is a certificate store that refuses every configuration.
type refusing struct{}

func (refusing) Update(context.Context, *model.Config) error { return errTLS }

var errTLS = errors.New("bad certificate")

func TestCertificatesRefuseConfiguration(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	px := proxy.New(proxy.Options{Certificates: refusing{}})
	defer px.Close()
	assert.ErrorIs(t, px.Apply(t.Context(), cfg, 1, "test"), errTLS)
	assert.False(t, px.Ready())

	calls := 0
	px = proxy.New(proxy.Options{UpstreamTLS: func(*model.Service, *model.Upstream, *model.Config) (*tls.Config, error) {
		calls++
		return nil, errTLS
	}})
	defer px.Close()
	assert.ErrorIs(t, px.Apply(t.Context(), cfg, 1, "test"), errTLS)
	assert.Equal(t, 1, calls)
}

// TestHTTPSUpstreamClient: https services go through the data plane's
// HTTP/1.1 client with the service's TLS settings (certs.UpstreamTLS):
// verification against the service's CA or none, a client certificate,
// ALPN http/1.1 with an upstream that offers h2 too, pooled connections,
// bodies; a certificate that does not verify, or a missing client
// certificate, is 502 without another attempt's success.
func TestHTTPSUpstreamClient(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, otherCA := certstest.NewAuthority(t, "server-ca"), certstest.NewAuthority(t, "client-ca"),
		certstest.NewAuthority(t, "other-ca")
	upstream := func(mtls bool) (*httptest.Server, *sync.Map) {
		c, k := serverCA.Issue(t, "upstream", "upstream.test", "127.0.0.1")
		pair, err := tls.X509KeyPair([]byte(c), []byte(k))
		require.NoError(t, err)
		conns := &sync.Map{}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conns.Store(r.RemoteAddr, true)
			name := "anonymous"
			if len(r.TLS.PeerCertificates) > 0 {
				name = r.TLS.PeerCertificates[0].Subject.CommonName
			}
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Proto, name, body)
		}))
		srv.EnableHTTP2 = true
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
		if mtls {
			srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
			srv.TLS.ClientCAs = clientCA.Pool()
		}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv, conns
	}
	plain, plainConns := upstream(false)
	mtls, _ := upstream(true)
	svc := func(id string, srv *httptest.Server, set func(*model.Service)) *model.Service {
		host, p, err := net.SplitHostPort(srv.Listener.Addr().String())
		require.NoError(t, err)
		port, _ := strconv.Atoi(p)
		s := service(id, host, port, "")
		s.Protocol = "https"
		s.Retries = 2
		set(s)
		return s
	}
	cfg := &model.Config{
		Services: []*model.Service{
			svc("verified", plain, func(s *model.Service) { s.TLSVerify, s.CACertificates = ptr(true), []string{"server-ca"} }),
			svc("insecure", plain, func(s *model.Service) { s.TLSVerify = ptr(false) }),
			svc("untrusted", plain, func(s *model.Service) { s.TLSVerify, s.CACertificates = ptr(true), []string{"other-ca"} }),
			svc("mtls", mtls, func(s *model.Service) { s.ClientCertificate = &model.Ref{ID: "client"} }),
			svc("nocert", mtls, func(*model.Service) {}),
		},
		Certificates: []*model.Certificate{clientCA.Certificate(t, "client", "gateway", "gateway.test")},
		CACertificates: []*model.CACertificate{
			{Base: model.Base{ID: "server-ca"}, Cert: serverCA.PEM},
			{Base: model.Base{ID: "other-ca"}, Cert: otherCA.PEM},
		},
	}
	for _, s := range cfg.Services {
		cfg.Routes = append(cfg.Routes, route(s.ID, s.ID, "/"+s.ID))
	}
	_, front := newProxy(t, cfg, func(o *proxy.Options) { o.UpstreamTLS = certs.UpstreamTLS })
	call := func(method, path, body string) (int, string) {
		req, err := http.NewRequest(method, front.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		res, err := front.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	tests := []struct {
		desc, method, path, body string
		wantStatus               int
		want                     string
	}{
		{"verified against the service's CA", http.MethodGet, "/verified", "", http.StatusOK, "HTTP/1.1 anonymous "},
		{"a body, verified", http.MethodPost, "/verified", "payload", http.StatusOK, "HTTP/1.1 anonymous payload"},
		{"not verified", http.MethodPost, "/insecure", "payload", http.StatusOK, "HTTP/1.1 anonymous payload"},
		{"a certificate from another CA", http.MethodGet, "/untrusted", "", http.StatusBadGateway, ""},
		{"a client certificate", http.MethodPut, "/mtls", "x", http.StatusOK, "HTTP/1.1 gateway x"},
		{"no client certificate", http.MethodGet, "/nocert", "", http.StatusBadGateway, ""},
	}
	for _, tc := range tests {
		for range 3 {
			status, body := call(tc.method, tc.path, tc.body)
			assert.Equal(t, tc.wantStatus, status, "%s: %s", tc.desc, body)
			if tc.wantStatus == http.StatusOK {
				assert.Equal(t, tc.want, body, tc.desc)
			}
		}
	}
	// verified and insecure share nothing but the upstream: one pooled
	// connection each, however many requests.
	n := 0
	plainConns.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, 2, n, "connections that carried requests")
}

// TestHTTPSUpstreamCloseNotify: an https upstream that answers with
// keep-alive, then ends the connection with TLS close_notify sent in the
// same segment as the response, is not sent the next request on that
// connection, even one that cannot be sent twice (a streamed body): the
// alert sits in crypto/tls's buffer, where a look at the socket does not
// see it. With the TCP connection left open no FIN tells either.
func TestHTTPSUpstreamCloseNotify(t *testing.T) {
	t.Parallel()
	ca := certstest.NewAuthority(t, "ca")
	c, k := ca.Issue(t, "upstream", "127.0.0.1")
	pair, err := tls.X509KeyPair([]byte(c), []byte(k))
	require.NoError(t, err)
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	for _, keepOpen := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		var requests atomic.Int64
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					hc := &heldConn{Conn: c}
					tc := tls.Server(hc, cfg)
					req, err := http.ReadRequest(bufio.NewReader(tc))
					if err != nil {
						return
					}
					requests.Add(1)
					_, _ = io.Copy(io.Discard, req.Body)
					hc.hold = true
					_, _ = io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if !keepOpen {
						_ = tc.Close() // close_notify, flushed with the response, then FIN
						return
					}
					_ = tc.CloseWrite()
					_ = hc.flush()
					_, _ = io.Copy(io.Discard, c) // until the proxy closes
				}()
			}
		}()
		host, port := splitAddr(t, ln.Addr().String())
		svc := service("s", host, port, "")
		svc.Protocol, svc.TLSVerify, svc.Retries = "https", ptr(false), 0
		r := route("r", "s", "/")
		unbufferedRequests(r)
		_, front := newProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{r}})
		const n = 4
		for i := range n {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				var body io.Reader
				if method == http.MethodPost {
					body = io.MultiReader(strings.NewReader("payload")) // streamed, chunked: not replayable
				}
				req, err := http.NewRequest(method, front.URL+"/", body)
				require.NoError(t, err)
				res, err := front.Client().Do(req)
				require.NoError(t, err)
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				require.Equal(t, http.StatusOK, res.StatusCode, "keep open %v, %s %d: %s", keepOpen, method, i, b)
			}
		}
		assert.Equal(t, int64(2*n), requests.Load(), "keep open %v: one request a connection", keepOpen)
	}
}

// heldConn holds what is written to it while hold is set, and sends it
// in one write at flush or Close (past the write deadline crypto/tls
// sets once close_notify is sent).
type heldConn struct {
	net.Conn
	hold bool
	buf  []byte
}

func (c *heldConn) Write(b []byte) (int, error) {
	if c.hold {
		c.buf = append(c.buf, b...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *heldConn) flush() error {
	c.hold = false
	_ = c.Conn.SetWriteDeadline(time.Time{})
	_, err := c.Conn.Write(c.buf)
	c.buf = nil
	return err
}

func (c *heldConn) Close() error {
	_ = c.flush()
	return c.Conn.Close()
}
