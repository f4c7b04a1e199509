package h1_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// fuzzServer has header limits past any input the fuzzer makes, so that
// the parsers are compared on syntax alone (the limits are tested in
// limits_test.go).
var fuzzServer = &h1.Server{Limits: h1.Limits{HeaderBufferSize: 1 << 20, HeaderBuffers: 1}}

// refusedOnPurpose are the reasons the server refuses requests net/http
// accepts, each listed with its case in framing_test.go and in doc.go.
var refusedOnPurpose = []string{
	"folded header line",                        // obs-fold
	"both Content-Length and Transfer-Encoding", // CL+TE
	"more than one Content-Length field",        // equal duplicates
	"Transfer-Encoding on an HTTP/1.0 request",  // ignored by net/http
	"unsupported request target form",           // other schemes, opaque URIs
	"invalid authority in absolute-form target", // user information, odd hosts
	"invalid CONNECT authority",                 // same, for CONNECT
	"unsupported HTTP version",                  // "PRI * HTTP/2.0", handed to handlers by net/http
}

// FuzzParse feeds the same bytes to the server's parser and to net/http's
// server (http.ReadRequest's parser and the checks the server adds), as a
// differential
// oracle: a request the server accepts is accepted by net/http and framed
// alike (method, target, host, fields, body); a request net/http accepts
// is accepted by the server, or refused for one of the reasons above.
func FuzzParse(f *testing.F) {
	for _, tt := range framingCases {
		f.Add([]byte(tt.raw), uint8(255))
		f.Add([]byte(tt.raw), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		ours := h1.ParseOne(fuzzServer, data, int(split)+1)
		theirs := netParse(data)
		switch {
		case ours.Status == 0 && theirs.err != nil:
			t.Fatalf("accepted what net/http refuses (%v): %s", theirs.err, q(data))
		case ours.Status > 0 && theirs.err == nil && !slices.Contains(refusedOnPurpose, ours.Why):
			t.Fatalf("refused (%d, %s) what net/http accepts: %s", ours.Status, ours.Why, q(data))
		case ours.Status == -1 && theirs.err == nil:
			t.Fatalf("waits for more of a head net/http read whole: %s", q(data))
		case ours.Status != 0 || theirs.err != nil || theirs.req == nil:
			return // both refused, or net/http answered itself (OPTIONS *)
		}
		compare(t, data, ours, theirs)
	})
}

func compare(t *testing.T, data []byte, ours h1.Parsed, theirs netResult) {
	t.Helper()
	r := theirs.req
	check := func(what string, a, b any) {
		t.Helper()
		if a != b {
			t.Fatalf("%s: %v here, %v by net/http, for %s", what, a, b, q(data))
		}
	}
	check("method", ours.Method, r.Method)
	check("target", ours.Target, r.RequestURI)
	check("host", ours.Host, r.Host)
	check("content length", ours.ContentLength, r.ContentLength)
	check("close", ours.Close, r.Close)
	got := http.Header{}
	for _, f := range ours.Header {
		got.Add(f[0], f[1])
	}
	// What net/http's server removes or adds.
	got.Del("Host")
	got.Del("Transfer-Encoding")
	if ours.ContentLength < 0 {
		got.Del("Trailer")
	}
	if len(got["Pragma"]) > 0 && got.Get("Pragma") == "no-cache" && len(got["Cache-Control"]) == 0 {
		got.Set("Cache-Control", "no-cache")
	}
	for k, v := range r.Header {
		check("field "+k, strings.Join(got[k], "\x00"), strings.Join(v, "\x00"))
	}
	check("field count", len(got), len(r.Header))
	if ours.BodyErr != nil && theirs.bodyErr == nil &&
		(errors.Is(ours.BodyErr, h1.ErrTrailer) || errors.Is(ours.BodyErr, h1.ErrChunkSize)) {
		return // refused on purpose: a trailer as a head could not be, a chunk past 2^63
	}
	check("body error", ours.BodyErr != nil, theirs.bodyErr != nil)
	if ours.BodyErr == nil {
		check("body", string(ours.Body), string(theirs.body))
	}
}

type netResult struct {
	req     *http.Request
	err     error
	body    []byte
	bodyErr error
}

// netParse reads one request as net/http's server does, by serving data
// as a connection of a real http.Server: the handler running means the
// request was accepted; an answer written without it, a refusal.
func netParse(data []byte) netResult {
	netOnce.Do(func() {
		netLn = &chanListener{conns: make(chan net.Conn)}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mc := r.Context().Value(memKey{}).(*memConn)
			body, err := io.ReadAll(r.Body)
			mc.res = netResult{req: r, body: body, bodyErr: err}
			mc.handled = true
		}), ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, memKey{}, c)
		}, ErrorLog: log.New(io.Discard, "", 0)}
		go func() { _ = srv.Serve(netLn) }()
	})
	mc := &memConn{data: data, done: make(chan struct{})}
	netLn.conns <- mc
	select {
	case <-mc.done:
	case <-time.After(10 * time.Second):
		return netResult{err: errors.New("net/http did not finish")}
	}
	if mc.handled {
		return mc.res
	}
	if bytes.HasPrefix(mc.out.Bytes(), []byte("HTTP/1.1 2")) {
		return netResult{} // accepted and answered by the server itself
	}
	if bytes.HasPrefix(mc.out.Bytes(), []byte("HTTP/1.1 ")) {
		return netResult{err: fmt.Errorf("refused: %.40s", mc.out.Bytes())}
	}
	return netResult{err: io.ErrUnexpectedEOF}
}

var (
	netOnce sync.Once
	netLn   *chanListener
)

type memKey struct{}

// chanListener accepts the connections sent on conns.
type chanListener struct{ conns chan net.Conn }

func (l *chanListener) Accept() (net.Conn, error) { return <-l.conns, nil }
func (l *chanListener) Close() error              { return nil }
func (l *chanListener) Addr() net.Addr            { return &net.TCPAddr{} }

// memConn is a connection whose client sent data and closed its side.
type memConn struct {
	mu      sync.Mutex
	data    []byte
	out     bytes.Buffer
	res     netResult
	handled bool
	done    chan struct{}
	once    sync.Once
}

func (m *memConn) Read(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, m.data)
	m.data = m.data[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}

func (m *memConn) Close() error {
	m.once.Do(func() { close(m.done) })
	return nil
}

func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// q quotes the start of data for a failure message.
func q(data []byte) string {
	if len(data) > 300 {
		return fmt.Sprintf("%q…", data[:300])
	}
	return fmt.Sprintf("%q", data)
}
