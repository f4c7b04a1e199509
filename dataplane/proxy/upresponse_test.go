package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// rawUpstream answers every request it reads with answer's bytes, then
// closes the connection when closeAfter; it counts the connections that
// carried a request of this test's, marked with the header field
// rawTokenField set to token. Connections are not all this test's: other
// tests in the package use the port of a listener they closed as an
// upstream nothing listens on, and the kernel may give that port to this
// listener, which their proxies then connect to.
type rawUpstream struct {
	addr  string
	token string
	// accepted counts the connections that carried a request with token.
	accepted atomic.Int64
}

// rawTokenField is the request header field that marks a test's requests
// to its rawUpstream.
const rawTokenField = "X-Raw-Upstream-Token"

func newRawUpstream(t *testing.T, answer string, closeAfter bool) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	u := &rawUpstream{addr: ln.Addr().String(), token: t.Name()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				ours := false
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if !ours && req.Header.Get(rawTokenField) == u.token {
						ours = true
						u.accepted.Add(1)
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, answer); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return u
}

// TestUpstreamResponseFraming: the client relays what an upstream frames
// correctly, keeping the connection when it can, and answers 502 for a
// head it cannot read one way only.
func TestUpstreamResponseFraming(t *testing.T) {
	t.Parallel()
	bigField := "X-Big: " + strings.Repeat("a", 70<<10) + "\r\n"
	tests := []struct {
		desc       string
		answer     string
		closeAfter bool
		wantStatus int
		wantBody   string
		// wantTrailer is a trailer field the client must see.
		wantTrailer [2]string
		// wantConns is how many connections 3 requests take; 0 skips.
		wantConns int64
		// wantCut: the response is cut short, after its head or before.
		wantCut bool
	}{
		{desc: "Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantBody: "ok", wantConns: 1},
		{desc: "chunked with extensions and trailers",
			answer: "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"3\r\nabc\r\n2;ext=1\r\nde\r\nA\r\n0123456789\r\n0\r\nX-Sum: 9\r\n\r\n",
			wantStatus: 200, wantBody: "abcde0123456789", wantTrailer: [2]string{"X-Sum", "9"}, wantConns: 1},
		{desc: "chunked, uppercase hex, LF line ends",
			answer:     "HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\nB\r\nhello world\r\n0\r\n\r\n",
			wantStatus: 200, wantBody: "hello world", wantConns: 1},
		{desc: "no length: read until the upstream closes",
			answer: "HTTP/1.1 200 OK\r\n\r\nuntil close", closeAfter: true,
			wantStatus: 200, wantBody: "until close", wantConns: 3},
		{desc: "HTTP/1.0 without keep-alive", answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantBody: "ok", wantConns: 3},
		{desc: "Connection: close", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantBody: "ok", wantConns: 3},
		{desc: "204",
			answer:     "HTTP/1.1 204 No Content\r\n\r\n",
			wantStatus: 204, wantConns: 1},
		{desc: "103 relayed before the final response",
			answer:     "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantBody: "ok", wantConns: 1},
		{desc: "no status reason", answer: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantBody: "ok", wantConns: 1},

		{desc: "Content-Length and Transfer-Encoding",
			answer:     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			wantStatus: 502},
		{desc: "Transfer-Encoding before Content-Length",
			answer:     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
			wantStatus: 502},
		{desc: "two Content-Lengths", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
			wantStatus: 502},
		{desc: "Content-Length list", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
			wantStatus: 502},
		{desc: "signed Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
			wantStatus: 502},
		{desc: "unknown transfer coding", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
			wantStatus: 502},
		{desc: "two Transfer-Encodings",
			answer:     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			wantStatus: 502},
		{desc: "chunked in HTTP/1.0", answer: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			wantStatus: 502},
		{desc: "folded header line", answer: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 502},
		{desc: "space before the colon", answer: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
			wantStatus: 502},
		{desc: "bare CR in a value", answer: "HTTP/1.1 200 OK\r\nX-A: 1\r2\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 502},
		{desc: "NUL in a value", answer: "HTTP/1.1 200 OK\r\nX-A: 1\x002\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 502},
		{desc: "not HTTP/1.x", answer: "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", wantStatus: 502},
		{desc: "HTTP/0.9 body", answer: "hello\r\n\r\n", wantStatus: 502},
		{desc: "bad status code", answer: "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok", wantStatus: 502},
		{desc: "head too big", answer: "HTTP/1.1 200 OK\r\n" + bigField + "Content-Length: 2\r\n\r\nok",
			wantStatus: 502},
		{desc: "closed in the head", answer: "HTTP/1.1 200 OK\r\nContent-Le", closeAfter: true, wantStatus: 502},
		{desc: "closed before anything", answer: "", closeAfter: true, wantStatus: 502},

		{desc: "closed before Content-Length's end", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
			closeAfter: true, wantStatus: 200, wantCut: true},
		{desc: "bad chunk size", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
			wantStatus: 200, wantCut: true},
		{desc: "chunk size overflowing", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"10000000000000001\r\nab\r\n0\r\n\r\n", wantStatus: 200, wantCut: true},
		{desc: "chunk longer than its size", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
			wantStatus: 200, wantCut: true},
		{desc: "closed in a chunk", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
			closeAfter: true, wantStatus: 200, wantCut: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			up := newRawUpstream(t, tc.answer, tc.closeAfter)
			front := proxyTo(t, up.addr)
			for range 3 {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, front.URL+"/", nil)
				require.NoError(t, err)
				req.Header.Set(rawTokenField, up.token)
				res, err := front.Client().Do(req)
				if tc.wantCut && err != nil {
					// Cut before the head went out.
					continue
				}
				require.NoError(t, err)
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				require.Equal(t, tc.wantStatus, res.StatusCode, string(body))
				if tc.wantCut {
					require.Error(t, err, "the response must be cut short, got %q", body)
					continue
				}
				require.NoError(t, err)
				if tc.wantStatus == http.StatusBadGateway {
					assert.Contains(t, string(body), "An invalid response was received from the upstream server")
					continue
				}
				assert.Equal(t, tc.wantBody, string(body))
				if tc.wantTrailer[0] != "" {
					assert.Equal(t, tc.wantTrailer[1], res.Trailer.Get(tc.wantTrailer[0]))
				}
			}
			if tc.wantConns > 0 {
				assert.Equal(t, tc.wantConns, up.accepted.Load())
			}
		})
	}
}

// TestUpstreamStaleConnections: after the upstream restarted, every
// pooled connection it closed fails before the first response byte and
// the request is sent again, on another or a new one: no client sees an
// error, even with retries at 0.
func TestUpstreamStaleConnections(t *testing.T) {
	t.Parallel()
	const conns = 8
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	release := make(chan struct{})
	arrived := make(chan struct{}, conns)
	live := make(chan net.Conn, 4*conns)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			live <- c
			go func() {
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					select {
					case arrived <- struct{}{}:
						<-release
					default:
					}
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
						return
					}
				}
			}()
		}
	}()
	front := proxyTo(t, ln.Addr().String())
	// conns requests at once fill the pool with conns connections.
	done := make(chan error, conns)
	for range conns {
		go func() {
			res, err := front.Client().Get(front.URL + "/")
			if err == nil {
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			done <- err
		}()
	}
	for range conns {
		<-arrived
	}
	close(release)
	for range conns {
		require.NoError(t, <-done)
	}
	// The upstream "restarts": every connection it had is closed.
	for len(live) > 0 {
		(<-live).Close()
	}
	for range 2 * conns {
		res, e := get(t, front, "/")
		require.Equal(t, http.StatusOK, res.StatusCode, e.Body)
		assert.Equal(t, "ok", e.Body)
	}
}

// TestUpstreamInvalidResponseNotRetried: an invalid response head is
// nginx's invalid_header, outside Kong's "error timeout": answered 502
// without another attempt, whatever the service's retries.
func TestUpstreamInvalidResponseNotRetried(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				requests.Add(1)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
			}()
		}
	}()
	host, p, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	port, err := net.LookupPort("tcp", p)
	require.NoError(t, err)
	svc := service("s", host, port, "")
	svc.Retries = 3
	_, front := newProxy(t, &model.Config{Services: []*model.Service{svc},
		Routes: []*model.Route{route("r", "s", "/")}})
	res, _ := get(t, front, "/")
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	assert.Equal(t, int64(1), requests.Load())
}
