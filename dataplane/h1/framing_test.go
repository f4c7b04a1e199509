package h1_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// framingCase is one request head or body the parser must accept or
// refuse. want is the server's status (200: accepted and echoed);
// netHTTP is what net/http's server, which the proxy ran on, answers the
// same bytes, when it differs on purpose (why says why), and -1 where the
// proxy's answer came from its own check rather than net/http's (the
// header limits, dataplane/proxy/limits_test.go).
type framingCase struct {
	desc    string
	raw     string
	want    int
	netHTTP int
	why     string
	// wantHost, when set, is the host the request is for.
	wantHost string
}

const chunkedPost = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

var framingCases = []framingCase{
	{desc: "a plain GET", raw: "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", want: 200, wantHost: "x"},
	{desc: "a POST with a length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", want: 200},
	{desc: "a chunked POST", raw: chunkedPost + "5\r\nhello\r\n0\r\n\r\n", want: 200},
	{desc: "a chunk extension", raw: chunkedPost + "5;name=value\r\nhello\r\n0\r\n\r\n", want: 200},
	{desc: "whitespace after the chunk size", raw: chunkedPost + "5 \r\nhello\r\n0\r\n\r\n", want: 200},
	{desc: "a trailer", raw: chunkedPost + "5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n", want: 200},
	{desc: "bare LF line endings", raw: "GET / HTTP/1.1\nHost: x\n\n", want: 200},
	{desc: "HTTP/1.0 without Host", raw: "GET / HTTP/1.0\r\n\r\n", want: 200},
	{desc: "HTTP/1.2 is served as 1.1", raw: "GET / HTTP/1.2\r\nHost: x\r\n\r\n", want: 200},
	{desc: "a lowercase method", raw: "get / HTTP/1.1\r\nHost: x\r\n\r\n", want: 200},
	{desc: "an absolute-form target names the host", raw: "GET http://example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
		want: 200, wantHost: "example.com:8080"},
	{desc: "OPTIONS *", raw: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", want: 200},
	{desc: "an empty Host", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n", want: 200},

	// Smuggling: a body that could be read two ways.
	{desc: "Content-Length and Transfer-Encoding", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		want: 400, netHTTP: 200, why: "net/http drops the Content-Length and reads chunks; nginx refuses"},
	{desc: "Transfer-Encoding and Content-Length", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		want: 400, netHTTP: 200, why: "net/http drops the Content-Length and reads chunks; nginx refuses"},
	{desc: "two equal Content-Lengths", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
		want: 400, netHTTP: 200, why: "net/http merges equal values; nginx refuses a duplicate"},
	{desc: "two different Content-Lengths", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", want: 400},
	{desc: "a Content-Length list", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\na", want: 400},
	{desc: "a negative Content-Length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", want: 400},
	{desc: "a signed Content-Length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na", want: 400},
	{desc: "an empty Content-Length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", want: 400},
	{desc: "a Content-Length past 2^63", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n", want: 400},
	{desc: "an unknown transfer coding", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
	{desc: "a transfer coding list", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", want: 501},
	{desc: "two Transfer-Encoding fields", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 501},
	{desc: "Transfer-Encoding on HTTP/1.0", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		want: 400, netHTTP: 200, why: "net/http ignores the field and reads no body, leaving the chunks as the next request; nginx refuses"},
	{desc: "a framing field announced as a trailer", raw: "POST / HTTP/1.1\r\nHost: x\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 400},

	// Line syntax.
	{desc: "obs-fold", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
		want: 400, netHTTP: 200, why: "net/http folds the line into the value; RFC 9112 5.2 lets a server refuse it, and nginx does not fold"},
	{desc: "obs-fold of Transfer-Encoding", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
		want: 400, netHTTP: 200, why: "net/http folds it into chunked"},
	{desc: "whitespace before the first field", raw: "GET / HTTP/1.1\r\n Host: x\r\n\r\n", want: 400},
	{desc: "a bare CR in a value", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", want: 400},
	{desc: "a CR before the CRLF", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\r\n\r\n", want: 400},
	{desc: "a bare CR ending the request line", raw: "GET / HTTP/1.1\rHost: x\r\n\r\n", want: 400},
	{desc: "a NUL in a value", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", want: 400},
	{desc: "a space before the colon", raw: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", want: 400},
	{desc: "a separator in a field name", raw: "GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n", want: 400},
	{desc: "a field without a colon", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", want: 400},
	{desc: "an empty field name", raw: "GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n", want: 400},

	// The request line.
	{desc: "HTTP/0.9", raw: "GET /\r\n\r\n", want: 400},
	{desc: "HTTP/2.0", raw: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", want: 505},
	{desc: "a two-digit minor version", raw: "GET / HTTP/1.10\r\nHost: x\r\n\r\n", want: 400},
	{desc: "a lowercase protocol", raw: "GET / http/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "two spaces after the method", raw: "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "a tab as separator", raw: "GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "a separator in the method", raw: "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "an empty request line", raw: "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "a relative target", raw: "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "a bad percent-encoding", raw: "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "a control character in the target", raw: "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", want: 400},
	{desc: "an absolute-form target of another scheme", raw: "GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
		want: 400, netHTTP: 200, why: "only http and https are proxied"},
	{desc: "an opaque target", raw: "GET a:b HTTP/1.1\r\nHost: x\r\n\r\n",
		want: 400, netHTTP: 200, why: "net/http accepts a URI without a path, which has nothing to route"},
	{desc: "user information in an absolute-form target", raw: "GET http://u@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
		want: 400, netHTTP: 200, why: "an authority with credentials is refused, as nginx refuses it"},

	// Host.
	{desc: "no Host on HTTP/1.1", raw: "GET / HTTP/1.1\r\n\r\n", want: 400},
	{desc: "two Host fields", raw: "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", want: 400},
	{desc: "a Host with a slash", raw: "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", want: 400},

	// Chunked bodies (dataplane/proxy/body_test.go TestClientBodyFaults).
	{desc: "a bad chunk size", raw: chunkedPost + "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n", want: 400},
	{desc: "a chunk size overflowing", raw: chunkedPost + "5\r\nhello\r\nffffffffffffffffff\r\n", want: 400},
	{desc: "a chunk size ending with a bare LF", raw: chunkedPost + "5\nhello\r\n0\r\n\r\n", want: 400},
	{desc: "chunk data longer than its size", raw: chunkedPost + "3\r\nhello\r\n0\r\n\r\n", want: 400},
	{desc: "an empty chunk size", raw: chunkedPost + "\r\n", want: 400},
	{desc: "a folded trailer", raw: chunkedPost + "0\r\nX-A: a\r\n b\r\n\r\n",
		want: 400, netHTTP: 200, why: "as obs-fold in the head"},

	// Expectations.
	{desc: "an unknown expectation", raw: "GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", want: 417},
	{desc: "100-continue", raw: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", want: 200},
	{desc: "100-continue with more after a space", raw: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue 0\r\nContent-Length: 5\r\n\r\nhello", want: 200},
	{desc: "100-continue in a list", raw: "POST / HTTP/1.1\r\nHost: x\r\nExpect: x,\t100-continue\r\nContent-Length: 5\r\n\r\nhello", want: 200},
	{desc: "100-continue on HTTP/1.0, more after it", raw: "GET / HTTP/1.0\r\nHost: x\r\nExpect: 100-continue 0\r\n\r\n", want: 200},
	{desc: "100-continue inside a longer token", raw: "GET / HTTP/1.1\r\nHost: x\r\nExpect: x100-continue\r\n\r\n", want: 417},

	// The header buffers (dataplane/proxy/limits_test.go TestHeaderLimits).
	{desc: "a field within a buffer", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 7000) + "\r\n\r\n", want: 200},
	{desc: "a field longer than a buffer", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", want: 400, netHTTP: -1},
	{desc: "a Host longer than a buffer", raw: "GET / HTTP/1.1\r\nHost: " + strings.Repeat("a", 9000) + "\r\n\r\n", want: 400, netHTTP: -1},
	{desc: "a request line longer than a buffer", raw: "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", want: 414, netHTTP: -1},
	{desc: "a head past the buffers", raw: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 4000)+"\r\n", 10) + "\r\n",
		want: 400, netHTTP: 431, why: "net/http answers 431 where nginx answers 400"},
}

// TestFraming sends each case to the server and checks its answer; a
// refused request is answered with the connection closed.
func TestFraming(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(echo)})
	for _, tt := range framingCases {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			res, body := roundTrip(t, addr, tt.raw)
			require.Equal(t, tt.want, res.StatusCode, body)
			if tt.want >= 400 {
				assert.True(t, res.Close, "the connection is closed after a refusal")
			}
			if tt.wantHost != "" {
				assert.Contains(t, body, "host="+tt.wantHost+"\n")
			}
		})
	}
}

// TestFramingAsNetHTTP sends each case to net/http's server set as the
// proxy's was (dataplane/proxy/limits.go), with the same handler, and
// checks that it answers as the table says: the same status, or the
// documented one.
func TestFramingAsNetHTTP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(netEcho), MaxHeaderBytes: 4*8<<10 - 4096, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	for _, tt := range framingCases {
		if tt.netHTTP < 0 {
			continue
		}
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if tt.netHTTP != 0 {
				want = tt.netHTTP
				require.NotEmpty(t, tt.why, "a difference says why")
			}
			res, body := roundTrip(t, ln.Addr().String(), tt.raw)
			assert.Equal(t, want, res.StatusCode, body)
		})
	}
}

func netEcho(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, "host="+r.Host+"\n")
}
