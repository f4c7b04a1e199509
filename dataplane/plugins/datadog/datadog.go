// Package datadog is Kong's datadog plugin: every request's metrics go to
// a DogStatsD agent over UDP, through Kong's queue, off the request path,
// as Kong writes them (kong/plugins/datadog): <prefix>.request.count,
// .latency, .request.size, .response.size, .upstream_latency and
// .kong_latency, tagged <service_name_tag>:<service>,
// <status_tag>:<status>, <consumer_tag>:<consumer> and each metric's own
// tags.
package datadog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "datadog"

// Metric is one entry of config.metrics.
type Metric struct {
	Name               string   `json:"name"`
	StatType           string   `json:"stat_type"`
	Tags               []string `json:"tags"`
	SampleRate         *float64 `json:"sample_rate"`
	ConsumerIdentifier *string  `json:"consumer_identifier"`
}

// Config is datadog's configuration.
type Config struct {
	Host           string          `json:"host"`
	Port           int             `json:"port"`
	Prefix         string          `json:"prefix"`
	ServiceNameTag string          `json:"service_name_tag"`
	StatusTag      string          `json:"status_tag"`
	ConsumerTag    string          `json:"consumer_tag"`
	Queue          logqueue.Config `json:"queue"`
	QueueSize      *int            `json:"queue_size"`
	FlushTimeout   *float64        `json:"flush_timeout"`
	Metrics        []Metric        `json:"metrics"`
}

// Datadog is the handler of one plugin instance of one snapshot.
type Datadog struct {
	conf  Config
	addr  string
	queue *logqueue.Queue

	mu   sync.Mutex
	conn net.Conn
}

var (
	_ plugin.Handler    = (*Datadog)(nil)
	_ plugin.ViewLogger = (*Datadog)(nil)
	_ io.Closer         = (*Datadog)(nil)
)

// NewFactory returns the plugin's factory.
func NewFactory(m *logqueue.Metrics, log *slog.Logger) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building datadog: %w", err)
		}
		h := &Datadog{conf: c, addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
		p := c.Queue.LegacyParams(c.QueueSize, c.FlushTimeout)
		h.queue = logqueue.New(Name, p, h.send, m, log)
		return h, nil
	}
}

// Name implements plugin.Handler.
func (h *Datadog) Name() string { return Name }

// Log implements plugin.Logger.
func (h *Datadog) Log(pc *plugin.Context, e *plugin.LogEntry) {
	if lines := h.Lines(pc, e); len(lines) > 0 {
		_ = h.queue.Add([]byte(strings.Join(lines, "\n"))) // a refusal is counted
	}
}

// OnView implements plugin.Viewer: the metrics are made of the entry's
// numbers (its sizes read through logrecord) and the context's entities.
func (h *Datadog) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log; the lines are made before
// it returns, of nothing the entry or the context keeps.
func (h *Datadog) LogView(pc *plugin.Context, e *plugin.LogEntry) { h.Log(pc, e) }

// Close sends what is queued and closes the socket.
func (h *Datadog) Close() error {
	err := h.queue.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		_ = h.conn.Close()
		h.conn = nil
	}
	return err
}

var statTypes = map[string]string{"gauge": "g", "counter": "c", "timer": "ms", "histogram": "h", "meter": "m",
	"set": "s", "distribution": "d"}

var statNames = map[string]string{"request_size": "request.size", "response_size": "response.size",
	"latency": "latency", "upstream_latency": "upstream_latency", "kong_latency": "kong_latency",
	"request_count": "request.count"}

// Lines returns the request's DogStatsD lines.
func (h *Datadog) Lines(pc *plugin.Context, e *plugin.LogEntry) []string {
	values := map[string]int64{
		"request_size": logrecord.EntryRequestSize(e), "response_size": logrecord.ResponseSize(e),
		"latency": e.Total.Milliseconds(), "kong_latency": e.Proxy.Milliseconds(), "request_count": 1,
		"upstream_latency": -1,
	}
	if e.Proxied {
		values["upstream_latency"] = e.Upstream.Milliseconds()
	}
	service := ""
	if s := pc.Service; s != nil {
		service = s.Host
		if s.Name != nil && *s.Name != "" {
			service = *s.Name
		}
		service = strings.ReplaceAll(service, ".", "_")
	}
	out := make([]string, 0, len(h.conf.Metrics))
	for _, m := range h.conf.Metrics {
		stat, ok := statNames[m.Name]
		if !ok {
			continue
		}
		tags := []string{h.conf.ServiceNameTag + ":" + service, h.conf.StatusTag + ":" + strconv.Itoa(e.Status)}
		if m.ConsumerIdentifier != nil {
			if id, ok := consumerID(pc.Consumer, *m.ConsumerIdentifier); ok {
				tags = append(tags, h.conf.ConsumerTag+":"+id)
			}
		}
		tags = append(tags, m.Tags...)
		line := h.conf.Prefix + "." + stat + ":" + strconv.FormatInt(values[m.Name], 10) + "|" + statTypes[m.StatType]
		if m.SampleRate != nil && *m.SampleRate != 1 {
			line += "|@" + strconv.FormatFloat(*m.SampleRate, 'f', -1, 64)
		}
		out = append(out, line+"|#"+strings.Join(tags, ","))
	}
	return out
}

// consumerID is Kong's get_consumer_id (consumer_id with its dashes
// replaced by underscores).
func consumerID(c *model.Consumer, identifier string) (string, bool) {
	if c == nil {
		return "", false
	}
	switch identifier {
	case "consumer_id":
		return strings.ReplaceAll(c.ID, "-", "_"), true
	case "username":
		if c.Username != nil {
			return *c.Username, true
		}
	case "custom_id":
		if c.CustomID != nil {
			return *c.CustomID, true
		}
	}
	return "", false
}

// send writes one datagram per line.
func (h *Datadog) send(ctx context.Context, batch [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn == nil {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "udp", h.addr)
		if err != nil {
			return fmt.Errorf("failed to connect to %s: %w", h.addr, err)
		}
		h.conn = c
	}
	for _, e := range batch {
		for _, line := range strings.Split(string(e), "\n") {
			_ = h.conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := h.conn.Write([]byte(line)); err != nil {
				_ = h.conn.Close()
				h.conn = nil
				return fmt.Errorf("failed to send data to %s: %w", h.addr, err)
			}
		}
	}
	return nil
}
