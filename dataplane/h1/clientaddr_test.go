package h1_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// TestClientAddrUnmapped: an IPv4 client of a wildcard listener (dual
// stack, as the default proxy listener is) is its IPv4 address, as net/http's
// RemoteAddr writes it, not the IPv4-mapped IPv6 one ("::ffff:…"): the
// proxy forwards it (X-Forwarded-For, X-Real-IP) and matches CIDRs on it.
func TestClientAddrUnmapped(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:0", ":0", "127.0.0.1:0"} {
		t.Run(listen, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", listen)
			require.NoError(t, err)
			s := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
				w.Header().Set("X-Client", r.ClientAddr().Addr().String())
				w.WriteHeader(http.StatusNoContent)
			})}
			done := make(chan error, 1)
			go func() { done <- s.Serve(ln) }()
			t.Cleanup(func() {
				_ = s.Close()
				<-done
			})
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port))
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
			require.NoError(t, err)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1", res.Header.Get("X-Client"))
		})
	}
}
