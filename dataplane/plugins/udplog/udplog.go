// Package udplog is Kong's udp-log plugin: every request's log record
// (Kong's serializer JSON, see logrecord) is sent as one UDP datagram,
// by the plugin's queue goroutine, never on the request path.
package udplog

import (
	"context"
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
const Name = "udp-log"

// Config is udp-log's configuration.
type Config struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Timeout is in milliseconds.
	Timeout float64 `json:"timeout"`
}

// UDPLog is the handler of one plugin instance of one snapshot.
type UDPLog struct {
	enc     logrecord.Encoder
	addr    string
	timeout time.Duration
	queue   *logqueue.Queue

	mu   sync.Mutex
	conn net.Conn
}

var (
	_ plugin.Handler  = (*UDPLog)(nil)
	_ plugin.Recorder = (*UDPLog)(nil)
	_ io.Closer       = (*UDPLog)(nil)
)

// NewFactory returns the plugin's factory.
func NewFactory(m *logqueue.Metrics, log *slog.Logger) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building udp-log: %w", err)
		}
		timeout := 10 * time.Second
		if c.Timeout > 0 {
			timeout = time.Duration(c.Timeout * float64(time.Millisecond))
		}
		h := &UDPLog{addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), timeout: timeout}
		h.queue = logqueue.New(Name, logqueue.StreamParams(), h.send, m, log)
		return h, nil
	}
}

// Name implements plugin.Handler.
func (h *UDPLog) Name() string { return Name }

// Log implements plugin.Logger.
func (h *UDPLog) Log(pc *plugin.Context, e *plugin.LogEntry) {
	_ = h.queue.Add(h.enc.Append(make([]byte, 0, 1024), pc, e)) // a refusal is counted
}

// OnView implements plugin.Viewer: the record is encoded of the view's
// entry as of the adapter's (logrecord.Encoder).
func (h *UDPLog) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log; the record is encoded
// before it returns.
func (h *UDPLog) LogView(pc *plugin.Context, e *plugin.LogEntry) { h.Log(pc, e) }

// Records implements plugin.Recorder.
func (h *UDPLog) Records() {}

// Close sends what is queued and closes the socket.
func (h *UDPLog) Close() error {
	err := h.queue.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		_ = h.conn.Close()
		h.conn = nil
	}
	return err
}

// send writes one datagram per entry.
func (h *UDPLog) send(ctx context.Context, batch [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn == nil {
		d := net.Dialer{Timeout: h.timeout}
		conn, err := d.DialContext(ctx, "udp", h.addr)
		if err != nil {
			return fmt.Errorf("connecting to %s: %w", h.addr, err)
		}
		h.conn = conn
	}
	for i, e := range batch {
		_ = h.conn.SetWriteDeadline(time.Now().Add(h.timeout))
		if _, err := h.conn.Write(e); err != nil {
			_ = h.conn.Close()
			h.conn = nil
			return fmt.Errorf("sending to %s (%d of %d entries sent): %w", h.addr, i, len(batch), err)
		}
	}
	return nil
}
