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

// TestFrontendConnTracker: with the metrics' tracker on the HTTP/1.x
// connections and ConnState on those handed to HTTP/2, a connection of
// either kind, once closed, leaves no connection counted active,
// reading, writing or waiting.
func TestFrontendConnTracker(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	px, _ := newProxy(t, cfg)
	m := status.NewMetrics()
	st, err := status.New(px, nil, m)
	require.NoError(t, err)
	f := px.Frontend(nil)
	f.ConnState, f.ConnTracker = m.ConnState, m.ConnTracker
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		_ = f.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving: %v", err)
		}
	})
	l := &listener{addr: ln.Addr().String()}
	server := func() status.ServerStatus {
		rec := httptest.NewRecorder()
		st.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
		var s status.Status
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s))
		return s.Server
	}
	for _, tc := range []struct {
		desc   string
		h1, h2 bool
		proto  string
	}{
		{"HTTP/1.1", true, false, "HTTP/1.1"},
		{"h2c handed to HTTP/2", false, true, "HTTP/2.0"},
	} {
		c := l.client(t, tc.h1, false, tc.h2)
		res, err := c.Get(l.url() + "/x")
		require.NoError(t, err, tc.desc)
		require.Equal(t, tc.proto, res.Proto, tc.desc)
		_, err = io.Copy(io.Discard, res.Body)
		require.NoError(t, err)
		res.Body.Close()
		// The connection, kept alive, is counted.
		require.Positive(t, server().ConnectionsActive, tc.desc)
		c.CloseIdleConnections()
		require.Eventually(t, func() bool {
			s := server()
			return s.ConnectionsActive == 0 && s.ConnectionsReading == 0 && s.ConnectionsWriting == 0 && s.ConnectionsWaiting == 0
		}, 10*time.Second, 5*time.Millisecond, "%s: %+v", tc.desc, server())
	}
	require.Positive(t, server().ConnectionsAccepted)
}
