// Package prometheus is Kong's prometheus plugin: per-service and
// per-route request counts, latencies and bandwidth, exported with Kong's
// metric names by a long-lived Collector that every snapshot's handlers
// feed. The data plane's status server registers the Collector once.
package prometheus

import (
	"fmt"
	"strconv"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/label"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "prometheus"

// Config is prometheus's configuration.
type Config struct {
	// PerConsumer adds a consumer label to the request counter.
	PerConsumer bool `json:"per_consumer"`
	// StatusCodeMetrics, LatencyMetrics and BandwidthMetrics enable those
	// metric families.
	StatusCodeMetrics bool `json:"status_code_metrics"`
	LatencyMetrics    bool `json:"latency_metrics"`
	BandwidthMetrics  bool `json:"bandwidth_metrics"`
	// UpstreamHealthMetrics is accepted; target health is exported by the
	// status server itself.
	UpstreamHealthMetrics bool `json:"upstream_health_metrics"`
}

// Metrics holds Kong's metric families; it is a prometheus.Collector that
// outlives snapshots.
type Metrics struct {
	requests                 *prom.CounterVec
	requestLatency, upstream *prom.HistogramVec
	kongLatency              *prom.HistogramVec
	bandwidth                *prom.CounterVec
}

var _ prom.Collector = (*Metrics)(nil)

// Kong's latency buckets, in milliseconds.
var latencyBuckets = []float64{1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000}

// NewMetrics returns empty metric families.
func NewMetrics() *Metrics {
	hist := func(name, help string) *prom.HistogramVec {
		return prom.NewHistogramVec(prom.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets},
			[]string{"service", "route", "workspace"})
	}
	return &Metrics{
		requests: prom.NewCounterVec(prom.CounterOpts{Name: "kong_http_requests_total",
			Help: "HTTP status codes per consumer/service/route in Kong"},
			[]string{"service", "route", "code", "source", "workspace", "consumer"}),
		requestLatency: hist("kong_request_latency_ms", "Total latency incurred during requests for each service/route in Kong"),
		upstream:       hist("kong_upstream_latency_ms", "Latency added by upstream response for each service/route in Kong"),
		kongLatency:    hist("kong_kong_latency_ms", "Latency added by Kong and enabled plugins for each service/route in Kong"),
		bandwidth: prom.NewCounterVec(prom.CounterOpts{Name: "kong_bandwidth_bytes",
			Help: "Total bandwidth (ingress/egress) throughput in bytes"},
			[]string{"service", "route", "direction", "workspace", "consumer"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prom.Desc) {
	m.requests.Describe(ch)
	m.requestLatency.Describe(ch)
	m.upstream.Describe(ch)
	m.kongLatency.Describe(ch)
	m.bandwidth.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prom.Metric) {
	m.requests.Collect(ch)
	m.requestLatency.Collect(ch)
	m.upstream.Collect(ch)
	m.kongLatency.Collect(ch)
	m.bandwidth.Collect(ch)
}

// Exporter is the handler built for one plugin instance of one snapshot.
type Exporter struct {
	conf Config
	m    *Metrics
}

var (
	_ plugin.Handler    = (*Exporter)(nil)
	_ plugin.Logger     = (*Exporter)(nil)
	_ plugin.ViewLogger = (*Exporter)(nil)
)

// NewFactory returns the plugin's factory, feeding m.
func NewFactory(m *Metrics) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building prometheus: %w", err)
		}
		return &Exporter{conf: c, m: m}, nil
	}
}

// Name implements plugin.Handler.
func (e *Exporter) Name() string { return Name }

const workspace = "default"

// OnView implements plugin.Viewer: the metrics are the entry's numbers
// and the context's entities.
func (e *Exporter) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log, on an entry without the
// request (whose body, the ingress bandwidth, the view never has).
func (e *Exporter) LogView(pc *plugin.Context, le *plugin.LogEntry) { e.Log(pc, le) }

// Log implements plugin.Logger.
func (e *Exporter) Log(pc *plugin.Context, le *plugin.LogEntry) {
	service, route := "", ""
	if s := pc.Service; s != nil {
		service = serviceLabel(s)
	}
	if r := pc.Route; r != nil {
		route = routeLabel(r)
	}
	consumer := ""
	if e.conf.PerConsumer && pc.Consumer != nil {
		consumer = pc.Consumer.ID
		if pc.Consumer.Username != nil {
			consumer = *pc.Consumer.Username
		}
	}
	if e.conf.StatusCodeMetrics {
		e.m.requests.WithLabelValues(service, route, strconv.Itoa(le.Status), source(pc, le), workspace, consumer).Inc()
	}
	if e.conf.LatencyMetrics {
		e.m.requestLatency.WithLabelValues(service, route, workspace).Observe(ms(le.Total.Seconds()))
		if le.Upstream > 0 {
			e.m.upstream.WithLabelValues(service, route, workspace).Observe(ms(le.Upstream.Seconds()))
		}
		e.m.kongLatency.WithLabelValues(service, route, workspace).Observe(ms(le.Proxy.Seconds()))
	}
	if e.conf.BandwidthMetrics {
		e.m.bandwidth.WithLabelValues(service, route, "egress", workspace, consumer).Add(float64(le.Bytes))
		if le.Request != nil && le.Request.ContentLength > 0 {
			e.m.bandwidth.WithLabelValues(service, route, "ingress", workspace, consumer).Add(float64(le.Request.ContentLength))
		}
	}
}

func ms(seconds float64) float64 { return seconds * 1000 }

// source is the request counter's source label, as Kong's exporter
// sets it (kong/plugins/prometheus/exporter.lua): "service" when
// kong.response.get_source() is "service" — the upstream answered and
// no plugin exited, in the access phase or a header filter
// (KONG_EXITED), nor did the proxy fail (KONG_UNEXPECTED, "error") —
// else "kong". However fast the upstream answered.
func source(pc *plugin.Context, le *plugin.LogEntry) string {
	if le.Proxied && pc.HeaderExit() == 0 {
		return "service"
	}
	return "kong"
}

// Retain drops the series of services and routes cfg no longer has
// (labeled as Log labels them; "" is kept), so that deleted entities do
// not stay exported until the data plane restarts. It runs after each
// configuration is applied, off the request path.
func (m *Metrics) Retain(cfg *model.Config) {
	services := make(label.Set, len(cfg.Services))
	for _, s := range cfg.Services {
		services[serviceLabel(s)] = struct{}{}
	}
	_, routes := label.Sets(&model.Config{Routes: cfg.Routes})
	for _, v := range []*prom.MetricVec{m.requests.MetricVec, m.requestLatency.MetricVec,
		m.upstream.MetricVec, m.kongLatency.MetricVec, m.bandwidth.MetricVec} {
		for _, l := range staleLabels(v, services, routes) {
			v.DeletePartialMatch(l)
		}
	}
}

// staleLabels returns the (service, route) labels of v's series whose
// service or route is in neither services nor routes.
func staleLabels(v *prom.MetricVec, services, routes label.Set) []prom.Labels {
	ch := make(chan prom.Metric, 64)
	go func() {
		v.Collect(ch)
		close(ch)
	}()
	seen := map[[2]string]bool{}
	var stale []prom.Labels
	for metric := range ch {
		var d dto.Metric
		if metric.Write(&d) != nil {
			continue
		}
		var k [2]string
		for _, p := range d.GetLabel() {
			switch p.GetName() {
			case "service":
				k[0] = p.GetValue()
			case "route":
				k[1] = p.GetValue()
			}
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		if !services.Kept(k[0]) || !routes.Kept(k[1]) {
			stale = append(stale, prom.Labels{"service": k[0], "route": k[1]})
		}
	}
	return stale
}

// serviceLabel is a service's label as Log writes it, as Kong's
// exporter does (kong/plugins/prometheus/exporter.lua: service.name or
// service.host): its name, else its host. An empty name, which Kong's
// schema refuses, counts as none.
func serviceLabel(s *model.Service) string {
	if s.Name != nil && *s.Name != "" {
		return *s.Name
	}
	return s.Host
}

// routeLabel is a route's label (route.name or route.id): label.Of.
func routeLabel(r *model.Route) string { return label.Of(r.Name, r.ID) }
