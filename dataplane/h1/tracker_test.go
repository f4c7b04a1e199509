package h1_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// stateLog is a ConnTracker that records the states it is told, and
// closes closed on StateClosed.
type stateLog struct {
	t      *testing.T
	mu     sync.Mutex
	made   int
	seen   []http.ConnState
	closed chan struct{}
}

func newStateLog(t *testing.T) *stateLog {
	return &stateLog{t: t, closed: make(chan struct{})}
}

func (l *stateLog) tracker(net.Conn) func(http.ConnState) {
	l.mu.Lock()
	l.made++
	l.mu.Unlock()
	return func(st http.ConnState) {
		l.mu.Lock()
		l.seen = append(l.seen, st)
		l.mu.Unlock()
		if st == http.StateClosed {
			close(l.closed)
		}
	}
}

// wait returns the states seen once StateClosed came; a connection never
// told it fails the test.
func (l *stateLog) wait() (made int, seen []http.ConnState) {
	l.t.Helper()
	select {
	case <-l.closed:
	case <-time.After(time.Minute):
		l.t.Fatal("the tracker was never told StateClosed")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.made, append([]http.ConnState(nil), l.seen...)
}

// ConnTracker is made once per connection and told its changes in order,
// instead of ConnState.
func TestConnTracker(t *testing.T) {
	t.Parallel()
	log := newStateLog(t)
	s := &h1.Server{Handler: h1.HandlerFunc(echo),
		ConnState:   func(net.Conn, http.ConnState) { t.Error("ConnState told beside the tracker") },
		ConnTracker: log.tracker}
	addr := start(t, s)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	for range 2 {
		_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		res, _ := readResponse(t, conn, rd)
		assert.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.NoError(t, conn.Close())
	made, seen := log.wait()
	assert.Equal(t, 1, made)
	// h1 marks a connection idle while it waits for each request's
	// first bytes, the first included.
	assert.Equal(t, []http.ConnState{http.StateNew, http.StateIdle, http.StateActive, http.StateIdle, http.StateActive,
		http.StateIdle, http.StateClosed}, seen)
}

// TestConnTrackerHandOff: a connection handed to the HTTP/2 server (h2c
// with prior knowledge) keeps its tracker, which the Handoff's ConnState
// tells the HTTP/2 server's states: told StateNew once, never
// StateHijacked, StateClosed last; the tracker's connection is never the
// HTTP/2 server's new one.
func TestConnTrackerHandOff(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ho := h1.NewHandoff(ln.Addr())
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Server{Protocols: p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}), ConnState: ho.ConnState(func(_ net.Conn, st http.ConnState) {
		t.Errorf("a handed connection's %v went past its tracker", st)
	})}
	go func() { _ = h2.Serve(ho) }()
	log := newStateLog(t)
	s := &h1.Server{HTTP2: ho.Hand, ConnTracker: log.tracker, Handler: h1.HandlerFunc(echo)}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		_ = h2.Close()
		_ = ho.Close()
	})
	cp := new(http.Protocols)
	cp.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: cp}
	res, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Get("http://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, "HTTP/2.0", string(body))
	tr.CloseIdleConnections()
	made, seen := log.wait()
	assert.Equal(t, 1, made)
	// h1's, up to the preface; then the HTTP/2 server's.
	require.Greater(t, len(seen), 3, "%v", seen)
	assert.Equal(t, []http.ConnState{http.StateNew, http.StateIdle, http.StateActive}, seen[:3])
	assert.Contains(t, seen[3:], http.StateIdle, "the HTTP/2 server's states reach the tracker: %v", seen)
	assert.Equal(t, http.StateClosed, seen[len(seen)-1], "%v", seen)
	assert.NotContains(t, seen[1:], http.StateNew, "%v", seen)
	assert.NotContains(t, seen, http.StateHijacked, "%v", seen)
}
