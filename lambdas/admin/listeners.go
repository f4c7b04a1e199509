package admin

import (
	"net"
	"strconv"
	"strings"
)

// Listener is one listen address of the node, as GET / reports it.
type Listener struct {
	// Addr is host:port ("0.0.0.0:8000", "[::1]:8001").
	Addr string
	// SSL is true for a TLS listener.
	SSL bool
	// HTTP2 is true when the listener accepts HTTP/2.
	HTTP2 bool
}

// listen is the listener as Kong's *_listen settings spell it:
// "0.0.0.0:8443 http2 ssl".
func (l Listener) listen() string {
	s := l.Addr
	if l.HTTP2 {
		s += " http2"
	}
	if l.SSL {
		s += " ssl"
	}
	return s
}

// parsed is the listener as Kong's *_listeners entries describe it
// (kong/conf_loader/listeners.lua): ip, port, the flags and the listen
// string.
func (l Listener) parsed() map[string]any {
	host, port, err := net.SplitHostPort(l.Addr)
	if err != nil {
		host = l.Addr
	}
	n, _ := strconv.Atoi(port)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return map[string]any{
		"ip": host, "port": n, "ssl": l.SSL, "http2": l.HTTP2, "listener": l.listen(),
		"bind": false, "deferred": false, "reuseport": false, "proxy_protocol": false, "backlog=%d+": false,
	}
}

func listens(ls []Listener) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.listen())
	}
	return out
}

func parsedListeners(ls []Listener) []map[string]any {
	out := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.parsed())
	}
	return out
}
