// Package statsd is Kong's statsd plugin: every request's metrics, named
// as Kong names them (kong/plugins/statsd/log.lua:
// <prefix>.service.<service>.request.count, .latency, .request.size,
// .status.<code>, .response.size, .user.uniques, .user.<consumer>.request.count,
// .upstream_latency, .kong_latency, .user.<consumer>.status.<code>,
// .workspace.<workspace>.status.<code>, and
// <prefix>.route.<route id>.user.<consumer>.status.<code>; or, with
// tag_style, <prefix>.<stat> with dogstatsd, influxdb, librato or signalfx
// tags), go to a StatsD server over UDP (packed into udp_packet_size
// datagrams when set) or TCP, through Kong's queue, off the request path.
//
// The data plane has no workspaces (the workspace is "default") and no
// shared dictionaries (shdict_usage sends nothing).
package statsd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
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
const Name = "statsd"

// Workspace stands for Kong's workspace id and name.
const Workspace = "default"

// Metric is one entry of config.metrics.
type Metric struct {
	Name                string   `json:"name"`
	StatType            string   `json:"stat_type"`
	SampleRate          *float64 `json:"sample_rate"`
	ConsumerIdentifier  *string  `json:"consumer_identifier"`
	ServiceIdentifier   *string  `json:"service_identifier"`
	WorkspaceIdentifier *string  `json:"workspace_identifier"`
}

// Config is statsd's configuration.
type Config struct {
	Host                       string          `json:"host"`
	Port                       int             `json:"port"`
	Prefix                     string          `json:"prefix"`
	Metrics                    []Metric        `json:"metrics"`
	AllowStatusCodes           []string        `json:"allow_status_codes"`
	UDPPacketSize              float64         `json:"udp_packet_size"`
	UseTCP                     bool            `json:"use_tcp"`
	HostnameInPrefix           bool            `json:"hostname_in_prefix"`
	ConsumerIdentifierDefault  string          `json:"consumer_identifier_default"`
	ServiceIdentifierDefault   string          `json:"service_identifier_default"`
	WorkspaceIdentifierDefault string          `json:"workspace_identifier_default"`
	TagStyle                   *string         `json:"tag_style"`
	Queue                      logqueue.Config `json:"queue"`
	QueueSize                  *int            `json:"queue_size"`
	FlushTimeout               *float64        `json:"flush_timeout"`
}

// StatsD is the handler of one plugin instance of one snapshot.
type StatsD struct {
	conf     Config
	prefix   string
	tagStyle string
	hostname string
	ranges   [][2]int
	addr     string
	queue    *logqueue.Queue

	mu   sync.Mutex
	conn net.Conn
}

var (
	_ plugin.Handler    = (*StatsD)(nil)
	_ plugin.ViewLogger = (*StatsD)(nil)
	_ io.Closer         = (*StatsD)(nil)
)

var rangeRe = regexp.MustCompile(`(\d\d\d)-(\d\d\d)`)

// NewFactory returns the plugin's factory.
func NewFactory(m *logqueue.Metrics, log *slog.Logger) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building statsd: %w", err)
		}
		host, _ := os.Hostname()
		h := &StatsD{conf: c, prefix: c.Prefix, hostname: strings.ReplaceAll(host, ".", "_"),
			addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
		if c.TagStyle != nil {
			h.tagStyle = *c.TagStyle
		}
		if c.HostnameInPrefix && h.tagStyle == "" {
			h.prefix += ".node." + h.hostname
		}
		for _, r := range c.AllowStatusCodes {
			if m := rangeRe.FindStringSubmatch(r); m != nil {
				lo, _ := strconv.Atoi(m[1])
				hi, _ := strconv.Atoi(m[2])
				h.ranges = append(h.ranges, [2]int{lo, hi})
			}
		}
		p := c.Queue.LegacyParams(c.QueueSize, c.FlushTimeout)
		h.queue = logqueue.New(Name, p, h.send, m, log)
		return h, nil
	}
}

// Name implements plugin.Handler.
func (h *StatsD) Name() string { return Name }

// Log implements plugin.Logger: the request's metric lines are made now
// and queued as one entry.
func (h *StatsD) Log(pc *plugin.Context, e *plugin.LogEntry) {
	if !h.allowed(e.Status) {
		return
	}
	if lines := h.Lines(pc, e); len(lines) > 0 {
		_ = h.queue.Add([]byte(strings.Join(lines, "\n"))) // a refusal is counted
	}
}

// allowed is allow_status_codes (no ranges: every status).
func (h *StatsD) allowed(status int) bool {
	if h.conf.AllowStatusCodes == nil {
		return true
	}
	for _, r := range h.ranges {
		if status >= r[0] && status <= r[1] {
			return true
		}
	}
	return false
}

// OnView implements plugin.Viewer: the metrics are made of the entry's
// numbers (its sizes read through logrecord) and the context's entities.
func (h *StatsD) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log; the lines are made before
// it returns, of nothing the entry or the context keeps.
func (h *StatsD) LogView(pc *plugin.Context, e *plugin.LogEntry) { h.Log(pc, e) }

// Close sends what is queued and closes the socket.
func (h *StatsD) Close() error {
	err := h.queue.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		_ = h.conn.Close()
		h.conn = nil
	}
	return err
}

// stat types, as StatsD spells them.
var statTypes = map[string]string{"gauge": "g", "counter": "c", "timer": "ms", "histogram": "h", "meter": "m", "set": "s"}

// Lines returns the request's metric lines.
func (h *StatsD) Lines(pc *plugin.Context, e *plugin.LogEntry) []string {
	status := strconv.Itoa(e.Status)
	values := map[string]int64{
		"request_size": logrecord.EntryRequestSize(e), "response_size": logrecord.ResponseSize(e),
		"latency": e.Total.Milliseconds(), "kong_latency": e.Proxy.Milliseconds(), "request_count": 1,
		"upstream_latency": -1,
	}
	if e.Proxied {
		values["upstream_latency"] = e.Upstream.Milliseconds()
	}
	stats := map[string]string{"request_size": "request.size", "response_size": "response.size", "latency": "latency",
		"upstream_latency": "upstream_latency", "kong_latency": "kong_latency", "request_count": "request.count"}
	var out []string
	for _, m := range h.conf.Metrics {
		kind := statTypes[m.StatType]
		consumer := consumerID(pc.Consumer, or(m.ConsumerIdentifier, h.conf.ConsumerIdentifierDefault))
		if h.tagStyle != "" {
			stat, ok := stats[m.Name]
			v := values[m.Name]
			if !ok || v == -1 {
				continue // Kong sends the other metrics without tags only
			}
			tags, ok := h.tags(pc, m, consumer, status)
			if !ok {
				continue
			}
			out = append(out, h.line(stat, strconv.FormatInt(v, 10), kind, m.SampleRate, tags))
			continue
		}
		scope := scopeName(pc.Service, or(m.ServiceIdentifier, h.conf.ServiceIdentifierDefault))
		switch m.Name {
		case "unique_users":
			if consumer != "" {
				out = append(out, h.line(scope+".user.uniques", consumer, statTypes["set"], nil, nil))
			}
		case "request_per_user":
			if consumer != "" {
				out = append(out, h.line(scope+".user."+consumer+".request.count", "1", statTypes["counter"], m.SampleRate, nil))
			}
		case "status_count":
			out = append(out, h.line(scope+".status."+status, "1", statTypes["counter"], m.SampleRate, nil))
		case "status_count_per_user":
			if consumer != "" {
				out = append(out, h.line(scope+".user."+consumer+".status."+status, "1", statTypes["counter"], m.SampleRate, nil))
			}
		case "status_count_per_workspace":
			out = append(out, h.line(scope+".workspace."+Workspace+".status."+status, "1", statTypes["counter"], m.SampleRate, nil))
		case "status_count_per_user_per_route":
			if consumer != "" && pc.Route != nil {
				out = append(out, h.line("route."+pc.Route.ID+".user."+consumer+".status."+status, "1",
					statTypes["counter"], m.SampleRate, nil))
			}
		case "shdict_usage":
		default:
			if v, ok := values[m.Name]; ok && v != -1 {
				out = append(out, h.line(scope+"."+stats[m.Name], strconv.FormatInt(v, 10), kind, m.SampleRate, nil))
			}
		}
	}
	return out
}

// tags are Kong's get_tags: none (and no metric) without a service.
func (h *StatsD) tags(pc *plugin.Context, m Metric, consumer, status string) ([][2]string, bool) {
	svc := serviceID(pc.Service, or(m.ServiceIdentifier, h.conf.ServiceIdentifierDefault))
	if svc == "" {
		return nil, false
	}
	tags := [][2]string{{"service", svc}}
	if pc.Route != nil {
		name := pc.Route.ID
		if pc.Route.Name != nil && *pc.Route.Name != "" {
			name = *pc.Route.Name
		}
		tags = append(tags, [2]string{"route", name})
	}
	tags = append(tags, [2]string{"workspace", Workspace})
	if consumer != "" {
		tags = append(tags, [2]string{"consumer", consumer})
	}
	tags = append(tags, [2]string{"node", h.hostname}, [2]string{"status", status})
	return tags, true
}

// line is Kong's create_statsd_message.
func (h *StatsD) line(stat, value, kind string, rate *float64, tags [][2]string) string {
	r := ""
	if rate != nil && *rate != 1 {
		r = "|@" + strconv.FormatFloat(*rate, 'f', -1, 64)
	}
	name := h.prefix + "." + stat
	if tags == nil {
		return name + ":" + value + "|" + kind + r
	}
	sep := "="
	if h.tagStyle == "dogstatsd" {
		sep = ":"
	}
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = t[0] + sep + t[1]
	}
	list := strings.Join(parts, ",")
	switch h.tagStyle {
	case "dogstatsd":
		return name + ":" + value + "|" + kind + r + "|#" + list
	case "influxdb":
		return name + "," + list + ":" + value + "|" + kind + r
	case "librato":
		return name + "#" + list + ":" + value + "|" + kind + r
	default: // signalfx
		return name + "[" + list + "]:" + value + "|" + kind + r
	}
}

func or(p *string, def string) string {
	if p != nil && *p != "" {
		return *p
	}
	return def
}

// scopeName is Kong's get_scope_name.
func scopeName(svc *model.Service, identifier string) string {
	if svc == nil {
		return "global.unmatched"
	}
	name := serviceID(svc, identifier)
	if name == "" {
		return "service.unnamed"
	}
	return "service." + strings.ReplaceAll(name, ".", "_")
}

func serviceID(svc *model.Service, identifier string) string {
	if svc == nil {
		return ""
	}
	name := ""
	if svc.Name != nil {
		name = *svc.Name
	}
	switch identifier {
	case "service_id":
		return svc.ID
	case "service_name":
		return name
	case "service_host":
		return svc.Host
	default:
		if name != "" {
			return name
		}
		return svc.Host
	}
}

func consumerID(c *model.Consumer, identifier string) string {
	if c == nil {
		return ""
	}
	switch identifier {
	case "consumer_id":
		return c.ID
	case "username":
		if c.Username != nil {
			return *c.Username
		}
	default:
		if c.CustomID != nil {
			return *c.CustomID
		}
	}
	return ""
}

// send writes a batch: over TCP one line each; over UDP one datagram per
// line, or lines packed up to udp_packet_size bytes.
func (h *StatsD) send(ctx context.Context, batch [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for _, e := range batch {
		lines = append(lines, strings.Split(string(e), "\n")...)
	}
	if h.conn == nil {
		network := "udp"
		if h.conf.UseTCP {
			network = "tcp"
		}
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, network, h.addr)
		if err != nil {
			return fmt.Errorf("failed to connect to %s: %w", h.addr, err)
		}
		h.conn = c
	}
	var packets []string
	switch {
	case h.conf.UseTCP:
		packets = []string{strings.Join(lines, "\n") + "\n"}
	case h.conf.UDPPacketSize > 0:
		packets = pack(lines, int(h.conf.UDPPacketSize))
	default:
		packets = lines
	}
	for _, p := range packets {
		_ = h.conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := h.conn.Write([]byte(p)); err != nil {
			_ = h.conn.Close()
			h.conn = nil
			return fmt.Errorf("failed to send data to %s: %w", h.addr, err)
		}
	}
	return nil
}

// pack joins lines with newlines into packets of at most size bytes (a
// longer line goes alone).
func pack(lines []string, size int) []string {
	var out []string
	cur := ""
	for _, l := range lines {
		switch {
		case cur == "":
			cur = l
		case len(cur)+1+len(l) <= size:
			cur += "\n" + l
		default:
			out = append(out, cur)
			cur = l
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}
