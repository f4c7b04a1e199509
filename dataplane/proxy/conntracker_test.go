package proxy_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestFrontendConnTracker: with the metrics' tracker (or ConnState alone)
// on the client connections, a connection of each kind — HTTP/1.1, h2c
// with prior knowledge and ALPN h2, both handed by h1 to the HTTP/2
// server — is counted once: accepted and handled 1, active 1 while it is
// kept alive, and once closed nothing left active, reading, writing or
// waiting.
func TestFrontendConnTracker(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	for _, tc := range []struct {
		desc         string
		tls, tracker bool
		h1, h2, h2c  bool
		proto        string
	}{
		{desc: "HTTP/1.1", tracker: true, h1: true, proto: "HTTP/1.1"},
		{desc: "h2c handed to HTTP/2", tracker: true, h2c: true, proto: "HTTP/2.0"},
		{desc: "TLS HTTP/1.1", tls: true, tracker: true, h1: true, proto: "HTTP/1.1"},
		{desc: "TLS h2 handed to HTTP/2", tls: true, tracker: true, h2: true, proto: "HTTP/2.0"},
		{desc: "h2c handed to HTTP/2, ConnState alone", h2c: true, proto: "HTTP/2.0"},
		{desc: "TLS HTTP/1.1, ConnState alone", tls: true, h1: true, proto: "HTTP/1.1"},
		{desc: "TLS h2 handed to HTTP/2, ConnState alone", tls: true, h2: true, proto: "HTTP/2.0"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			px, _ := newProxy(t, cfg)
			m := status.NewMetrics()
			st, err := status.New(px, nil, m)
			require.NoError(t, err)
			f := px.Frontend(nil)
			f.ConnState = m.ConnState
			if tc.tracker {
				f.ConnTracker = m.ConnTracker
			}
			l := &listener{}
			if tc.tls {
				f.TLSConfig, l.roots = listenerTLS(t)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			l.addr = ln.Addr().String()
			done := make(chan error, 1)
			go func() { done <- f.Serve(ln) }()
			t.Cleanup(func() {
				_ = f.Close()
				if err := <-done; !errors.Is(err, http.ErrServerClosed) {
					t.Errorf("serving: %v", err)
				}
			})
			server := func() status.ServerStatus {
				rec := httptest.NewRecorder()
				st.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
				var s status.Status
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s))
				return s.Server
			}
			c := l.client(t, tc.h1, tc.h2, tc.h2c)
			for range 2 {
				res, err := c.Get(l.url() + "/x")
				require.NoError(t, err)
				require.Equal(t, tc.proto, res.Proto)
				_, err = io.Copy(io.Discard, res.Body)
				require.NoError(t, err)
				res.Body.Close()
			}
			// The connection, kept alive, is counted once.
			s := server()
			require.Equal(t, [3]int64{1, 1, 1}, [3]int64{s.ConnectionsAccepted, s.ConnectionsHandled, s.ConnectionsActive},
				"accepted, handled, active: %+v", s)
			c.CloseIdleConnections()
			require.Eventually(t, func() bool {
				s := server()
				return s.ConnectionsActive == 0 && s.ConnectionsReading == 0 && s.ConnectionsWriting == 0 && s.ConnectionsWaiting == 0
			}, 10*time.Second, 5*time.Millisecond, "%+v", server())
			s = server()
			require.Equal(t, [2]int64{1, 1}, [2]int64{s.ConnectionsAccepted, s.ConnectionsHandled}, "%+v", s)
		})
	}
}
