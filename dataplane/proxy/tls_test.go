package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
