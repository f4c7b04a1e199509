package proxy_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestHTTP2Clients(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	px, _ := newProxy(t, cfg)
	plain, secure := serveProxy(t, px, false), serveProxy(t, px, true)
	for _, tc := range []struct {
		desc      string
		l         *listener
		h1, h2, c bool
		want      string
	}{
		{desc: "TLS, ALPN h2", l: secure, h2: true, want: "HTTP/2.0"},
		{desc: "TLS, ALPN http/1.1", l: secure, h1: true, want: "HTTP/1.1"},
		{desc: "plain, h2c with prior knowledge", l: plain, c: true, want: "HTTP/2.0"},
		{desc: "plain, HTTP/1.1", l: plain, h1: true, want: "HTTP/1.1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			res, err := tc.l.client(t, tc.h1, tc.h2, tc.c).Get(tc.l.url() + "/x")
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, tc.want, res.Proto)
			var e echo
			require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
			assert.Equal(t, "/x", e.URI, "proxied to the upstream")
		})
	}
}

// HTTP/2 settings identifiers (RFC 9113 6.5.2).
const (
	settingMaxConcurrentStreams = 0x3
	settingMaxFrameSize         = 0x5
	settingMaxHeaderListSize    = 0x6
)

func TestHTTP2Limits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc   string
		limits proxy.Limits
		want   map[uint16]uint32
		// headers bounds the header list a client may send.
		headers uint32
	}{
		{desc: "defaults", want: map[uint16]uint32{settingMaxConcurrentStreams: 128, settingMaxFrameSize: 16 << 10},
			headers: 32 << 10},
		{desc: "configured", limits: proxy.Limits{H2MaxConcurrentStreams: 10, HeaderBuffers: 2, HeaderBufferSize: 4 << 10},
			want: map[uint16]uint32{settingMaxConcurrentStreams: 10, settingMaxFrameSize: 16 << 10}, headers: 8 << 10},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			px, _ := newProxy(t, nil, func(o *proxy.Options) { o.Limits = tc.limits })
			for _, secure := range []bool{false, true} {
				got := serverSettings(t, serveProxy(t, px, secure))
				for id, v := range tc.want {
					assert.Equal(t, v, got[id], "setting %#x (TLS %v)", id, secure)
				}
				assert.NotZero(t, got[settingMaxHeaderListSize], "the header list is bounded (TLS %v)", secure)
				assert.LessOrEqual(t, got[settingMaxHeaderListSize], tc.headers, "at the header block (TLS %v)", secure)
			}
		})
	}
}

// serverSettings opens an HTTP/2 connection to l (ALPN h2 over TLS, else
// prior knowledge) and returns the settings of the server's first frame.
func serverSettings(t *testing.T, l *listener) map[uint16]uint32 {
	t.Helper()
	c, err := net.Dial("tcp", l.addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	if l.roots != nil {
		cfg := l.roots.Clone()
		cfg.NextProtos = []string{"h2"}
		tc := tls.Client(c, cfg)
		require.NoError(t, tc.Handshake())
		require.Equal(t, "h2", tc.ConnectionState().NegotiatedProtocol)
		c = tc
	}
	_, err = io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	require.NoError(t, err)
	r := bufio.NewReader(c)
	var head [9]byte
	_, err = io.ReadFull(r, head[:])
	require.NoError(t, err)
	n := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
	require.Equal(t, byte(0x4), head[3], "the server's first frame is SETTINGS")
	require.LessOrEqual(t, n, 1024)
	payload := make([]byte, n)
	_, err = io.ReadFull(r, payload)
	require.NoError(t, err)
	out := map[uint16]uint32{}
	for i := 0; i+6 <= len(payload); i += 6 {
		out[binary.BigEndian.Uint16(payload[i:])] = binary.BigEndian.Uint32(payload[i+2:])
	}
	return out
}
