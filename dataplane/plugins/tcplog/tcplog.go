// Package tcplog is Kong's tcp-log plugin: every request's log record
// (Kong's serializer JSON, see logrecord) is sent as one line over a TCP
// connection, optionally TLS (with tls_sni; as Kong's, the certificate is
// not verified). The plugin's queue goroutine keeps the connection open
// for keepalive milliseconds after its last use; a connection the server
// closed is noticed before writing, and a write that fails on a reused
// connection is tried once on a new one.
package tcplog

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
)

// Name is the plugin's name.
const Name = "tcp-log"

// Config is tcp-log's configuration.
type Config struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Timeout and Keepalive are in milliseconds.
	Timeout   float64 `json:"timeout"`
	Keepalive float64 `json:"keepalive"`
	TLS       bool    `json:"tls"`
	TLSSNI    *string `json:"tls_sni"`
}

// TCPLog is the handler of one plugin instance of one snapshot.
type TCPLog struct {
	// Sink is the log phase, on the adapter and on the view.
	logrecord.Sink
	addr               string
	tls                *tls.Config
	timeout, keepalive time.Duration

	mu       sync.Mutex
	conn     net.Conn
	lastUsed time.Time
}

var (
	_ plugin.Handler  = (*TCPLog)(nil)
	_ plugin.Recorder = (*TCPLog)(nil)
	_ io.Closer       = (*TCPLog)(nil)
)

// NewFactory returns the plugin's factory.
func NewFactory(m *logqueue.Metrics, log *slog.Logger) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building tcp-log: %w", err)
		}
		h := &TCPLog{addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
			timeout: millis(c.Timeout, 10*time.Second), keepalive: millis(c.Keepalive, time.Minute)}
		if c.TLS {
			sni := c.Host
			if c.TLSSNI != nil && *c.TLSSNI != "" {
				sni = *c.TLSSNI
			}
			h.tls = &tls.Config{ServerName: sni, InsecureSkipVerify: true} //nolint:gosec // Kong's tcp-log does not verify
		}
		h.Queue = logqueue.New(Name, logqueue.StreamParams(), h.send, m, log)
		return h, nil
	}
}

func millis(ms float64, def time.Duration) time.Duration {
	if ms <= 0 {
		return def
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// Name implements plugin.Handler.
func (h *TCPLog) Name() string { return Name }

// Close sends what is queued and closes the connection.
func (h *TCPLog) Close() error {
	err := h.Queue.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop()
	return err
}

// send writes a batch of lines, on a new connection when the kept one
// turns out to be dead.
func (h *TCPLog) send(ctx context.Context, batch [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	buf := logqueue.Lines(batch)
	for {
		if h.conn != nil && (time.Since(h.lastUsed) > h.keepalive || h.closedByPeer()) {
			h.drop()
		}
		reused := h.conn != nil
		if !reused {
			if err := h.dial(ctx); err != nil {
				return err
			}
		}
		_ = h.conn.SetWriteDeadline(time.Now().Add(h.timeout))
		_, err := h.conn.Write(buf)
		if err == nil {
			h.lastUsed = time.Now()
			return nil
		}
		h.drop()
		if !reused {
			return fmt.Errorf("sending to %s: %w", h.addr, err)
		}
	}
}

func (h *TCPLog) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: h.timeout}
	conn, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", h.addr, err)
	}
	if h.tls != nil {
		tc := tls.Client(conn, h.tls)
		hctx, cancel := context.WithTimeout(ctx, h.timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS handshake with %s: %w", h.addr, err)
		}
		conn = tc
	}
	h.conn = conn
	return nil
}

// closedByPeer peeks at a plain connection: a log server sends nothing,
// so a readable end of stream (or error) means it closed the connection.
func (h *TCPLog) closedByPeer() bool {
	if h.tls != nil {
		return false
	}
	return peerClosed(h.conn)
}

func (h *TCPLog) drop() {
	if h.conn != nil {
		_ = h.conn.Close()
		h.conn = nil
	}
}
