package proxy_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestPathHandlingV1IsV0 follows Kong's traditional_compatible router,
// which ignores path_handling: kong/router/atc.lua set_upstream_uri always
// calls get_upstream_uri_v0, and kong/db/schema/entities/routes.lua says
// v1 "will not work under 'expressions' or 'traditional_compatible'".
func TestPathHandlingV1IsV0(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	v1 := route("v1", "s", "/rou")
	v1.PathHandling = "v1"
	kept := route("kept", "s", "/kept")
	kept.PathHandling, kept.StripPath = "v1", false
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "/srv")},
		Routes:   []*model.Route{v1, kept},
	}
	_, front := newProxy(t, cfg)

	for path, want := range map[string]string{
		"/roureq":  "/srv/req",     // v1 would give /srvreq
		"/rou/x":   "/srv/x",       // same under both
		"/keptreq": "/srv/keptreq", // v1 would give /srvkeptreq
	} {
		res, e := get(t, front, path)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, want, e.URI, path)
	}
}

// TestSNIRoutes follows kong/router/transform.lua get_expression: a
// route's SNIs only apply to HTTPS requests ((net.protocol != "https" ||
// tls.sni == …)), so an https-only route with snis matches plain HTTP,
// outranks an http/https route on the same path (one field more), and
// kong/runloop/handler.lua answers 426; wildcard SNIs match over TLS.
func TestSNIRoutes(t *testing.T) {
	t.Parallel()
	secure, plain := newBackend(t, "secure", nil), newBackend(t, "plain", nil)
	sni := route("sni", "secure", "/p")
	sni.Protocols, sni.SNIs = []string{"https"}, []string{"secure.test", "*.wild.test"}
	both := route("both", "plain", "/p")
	cfg := &model.Config{
		Services: []*model.Service{
			service("secure", secure.host(), secure.port(), ""),
			service("plain", plain.host(), plain.port(), ""),
		},
		Routes: []*model.Route{both, sni},
	}

	// Not parallel: it counts backend hits before the TLS cases run.
	t.Run("plain HTTP gets 426", func(t *testing.T) {
		_, front := newProxy(t, cfg)
		res, e := get(t, front, "/p")
		assert.Equal(t, http.StatusUpgradeRequired, res.StatusCode)
		assert.Equal(t, kongJSON(res, "Please use HTTPS protocol"), e.Body)
		assert.Zero(t, secure.hits.Load()+plain.hits.Load())
	})

	px := proxy.New(proxy.Options{Version: "test"})
	require.NoError(t, px.Apply(t.Context(), cfg, 1, "test"))
	front := proxytest.NewTLS(t, px.Frontend(nil))
	t.Cleanup(func() {
		front.Close()
		px.Close()
	})
	for _, tc := range []struct{ sni, backend string }{
		{"secure.test", "secure"},
		{"a.b.wild.test", "secure"},
		{"other.test", "plain"},
	} {
		t.Run("TLS with SNI "+tc.sni, func(t *testing.T) {
			t.Parallel()
			tr := front.Client().Transport.(*http.Transport).Clone()
			// The test certificate does not name these hosts.
			tr.TLSClientConfig = &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true} //nolint:gosec
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr}).Get(front.URL + "/p")
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
			var e echo
			require.NoError(t, json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&e))
			assert.Equal(t, tc.backend, e.Backend)
		})
	}
}

// TestHostWithPort follows kong/router/fields.lua: net.dst.port is the
// port in the Host header, so hosts: ["port.test:8999"] matches
// "Host: port.test:8999" whatever port the proxy listens on.
func TestHostWithPort(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	ported := route("ported", "s")
	ported.Hosts = []string{"port.test:8999"}
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{ported},
	}
	_, front := newProxy(t, cfg)

	res, _ := get(t, front, "/", "Host", "port.test:8999")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = get(t, front, "/", "Host", "port.test:9000")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = get(t, front, "/", "Host", "port.test")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the listener's port is not 8999")
}
