package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteRequest: appendRequest sends what Request.Write sends, in any
// header order.
func TestWriteRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		method string
		url    string
		host   string
		header http.Header
	}{
		{"plain GET", http.MethodGet, "http://up.test:8080/a/b?x=1", "", http.Header{"Accept": {"*/*"}}},
		{"Host header and empty User-Agent", http.MethodHead, "http://10.0.0.1/", "api.example.com",
			http.Header{"User-Agent": {""}, "X-Forwarded-For": {"1.2.3.4"}}},
		{"User-Agent and repeated fields", http.MethodGet, "http://up.test/p%2Fq", "",
			http.Header{"User-Agent": {"curl/8"}, "Cookie": {"a=1", "b=2"}}},
		{"values on one line, trimmed", http.MethodOptions, "http://up.test/", "",
			http.Header{"X-Multi": {" a\r\nb "}, "Content-Length": {"5"}, "Trailer": {"X"}}},
		{"invalid field name dropped", http.MethodGet, "http://up.test/", "",
			http.Header{"Bad Name": {"x"}, "Good": {"y"}}},
		{"IPv6 host", http.MethodGet, "http://[::1]:8080/", "", nil},
		{"non-ASCII host converted", http.MethodGet, "http://bücher.test/", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tc.method, tc.url, nil)
			require.NoError(t, err)
			if tc.header != nil {
				req.Header = tc.header
			}
			req.Host = tc.host
			var want, got bytes.Buffer
			require.NoError(t, req.Write(&want))
			b, err := appendRequest([]byte("prior"), req)
			require.NoError(t, err)
			got.Write(b[len("prior"):])
			assert.Equal(t, lines(want.String()), lines(got.String()))
		})
	}
}

// lines returns the request line and the sorted header fields.
func lines(head string) []string {
	ls := strings.Split(head, "\r\n")
	slices.Sort(ls[1:])
	return ls
}

// zeros reads zero bytes, endlessly.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestBodyWriteTimeout: an upstream that takes none of a streamed body
// within the write timeout ends the exchange with a timeout, which the
// proxy answers 504, as it did with http.Transport.
func TestBodyWriteTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, until the test ends
		}
	}()
	c := newH1Client("http", func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &timeoutConn{Conn: conn, read: time.Minute, write: 50 * time.Millisecond}, nil
	})
	for _, length := range []int64{-1, 1 << 30} {
		req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", io.NopCloser(io.LimitReader(zeros{}, 1<<30)))
		require.NoError(t, err)
		req.ContentLength = length
		_, err = c.RoundTrip(req)
		require.Error(t, err)
		assert.True(t, isTimeout(err), "length %d: %v", length, err)
		resp, _ := classify(err)
		assert.Equal(t, http.StatusGatewayTimeout, resp.Status)
	}
}
