package status

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// Source is what the status API reads from the proxy.
type Source interface {
	// Current returns the running revision and configuration hash.
	Current() (revision int64, hash string)
	// Ready reports whether a configuration has been loaded.
	Ready() bool
	// LastApply is when a configuration was last applied.
	LastApply() time.Time
	// Health lists the upstream targets and their states.
	Health() []upstream.TargetHealth
}

// Metrics holds the data plane's Prometheus registry and the connection
// counters of Kong's /status. It observes proxied requests (see
// ObserveRequest) and the proxy listener's connections (see ConnState).
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	upstream *prometheus.HistogramVec
	proxy    *prometheus.HistogramVec
	// observers caches the metrics of each (service, route, status), so a
	// request does not look its labels up in the vectors.
	observers sync.Map // observerKey → *observer

	conns                                                       sync.Map // net.Conn → *atomic.Int64 (an http.ConnState)
	accepted, handled, active, reading, writing, waiting, total atomic.Int64
	// errors5xx counts requests answered 5xx.
	errors5xx atomic.Int64
}

// Traffic returns the requests proxied and those answered 5xx since the
// data plane started.
func (m *Metrics) Traffic() (requests, errors5xx int64) {
	return m.total.Load(), m.errors5xx.Load()
}

// NewMetrics registers the data plane's request metrics in a registry of
// its own; New adds the proxy's and the sync client's state to it.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	buckets := []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skyport_http_requests_total", Help: "Proxied requests by service, route and status code.",
	}, []string{"service", "route", "code"})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "skyport_upstream_latency_ms", Help: "Time waiting for the upstream's response headers, in milliseconds.",
		Buckets: buckets,
	}, []string{"service"})
	m.proxy = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "skyport_proxy_latency_ms", Help: "Time spent in the data plane before proxying, in milliseconds.",
		Buckets: buckets,
	}, []string{"service"})
	m.reg.MustRegister(m.requests, m.upstream, m.proxy,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// observerKey names the metrics one request updates.
type observerKey struct {
	service, route string
	status         int
}

// observer is the metrics of one observerKey.
type observer struct {
	requests        prometheus.Counter
	upstream, proxy prometheus.Observer
}

// ObserveRequest counts one proxied request.
func (m *Metrics) ObserveRequest(service, route string, status int, upstream, proxy time.Duration) {
	m.total.Add(1)
	if status >= 500 && status < 600 {
		m.errors5xx.Add(1)
	}
	key := observerKey{service, route, status}
	v, ok := m.observers.Load(key)
	if !ok {
		v, _ = m.observers.LoadOrStore(key, &observer{
			requests: m.requests.WithLabelValues(service, route, strconv.Itoa(status)),
			upstream: m.upstream.WithLabelValues(service),
			proxy:    m.proxy.WithLabelValues(service),
		})
	}
	o := v.(*observer)
	o.requests.Inc()
	if upstream > 0 {
		o.upstream.Observe(float64(upstream.Microseconds()) / 1000)
	}
	o.proxy.Observe(float64(proxy.Microseconds()) / 1000)
}

// ConnState is an http.Server ConnState hook keeping Kong's connection
// counters: reading is connections accepted and not yet serving, writing
// those serving a request, waiting idle keep-alive ones.
func (m *Metrics) ConnState(c net.Conn, s http.ConnState) {
	// Each connection's state lives in an atomic of its own, stored once:
	// the transitions of a keep-alive connection do not allocate.
	var state *atomic.Int64
	if v, ok := m.conns.Load(c); ok {
		state = v.(*atomic.Int64)
		if n := m.stateCounter(http.ConnState(state.Load())); n != nil {
			n.Add(-1)
		}
	}
	switch s {
	case http.StateHijacked, http.StateClosed:
		if state != nil {
			m.conns.Delete(c)
		}
		m.active.Add(-1)
		return
	case http.StateNew:
		m.accepted.Add(1)
		m.handled.Add(1)
		m.active.Add(1)
	}
	if state == nil {
		state = new(atomic.Int64)
		m.conns.Store(c, state)
	}
	state.Store(int64(s))
	if n := m.stateCounter(s); n != nil {
		n.Add(1)
	}
}

func (m *Metrics) stateCounter(s http.ConnState) *atomic.Int64 {
	switch s {
	case http.StateNew:
		return &m.reading
	case http.StateActive:
		return &m.writing
	case http.StateIdle:
		return &m.waiting
	}
	return nil
}
