package status

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skyport-gw/skyport/internal/label"
	"github.com/skyport-gw/skyport/internal/model"
)

// The request metrics are kept by the data plane itself, in atomics a
// request updates without locking or looking labels up, and exported
// through a prometheus.Collector at scrape time under the names, labels
// and buckets client_golang's CounterVec and HistogramVec gave them.
var (
	latencyBuckets = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000}

	descHTTPRequests = prometheus.NewDesc("skyport_http_requests_total",
		"Proxied requests by service, route and status code.", []string{"service", "route", "code"}, nil)
	descUpstreamLatency = prometheus.NewDesc("skyport_upstream_latency_ms",
		"Time waiting for the upstream's response headers, in milliseconds.", []string{"service"}, nil)
	descProxyLatency = prometheus.NewDesc("skyport_proxy_latency_ms",
		"Time spent in the data plane before proxying, in milliseconds.", []string{"service"}, nil)
)

// Series is the request metrics of one (service, route): resolve it once
// (Metrics.Series) and keep it with the route; Observe then costs a few
// atomic additions.
type Series struct {
	m              *Metrics
	service, route string
	svc            *serviceLatency
	// codes counts requests by status code: the first few codes seen in
	// slots claimed lock-free, the rest in more.
	codes [seriesCodes]codeCount
	mu    sync.Mutex
	more  map[int]*atomic.Uint64
}

// seriesCodes is how many status codes a Series counts without a lock.
const seriesCodes = 6

type codeCount struct {
	code atomic.Int32 // 0: free
	n    atomic.Uint64
}

// serviceLatency is the two latency histograms of one service.
type serviceLatency struct {
	service         string
	upstream, proxy histogram
}

// histogram is a Prometheus histogram over latencyBuckets: counts[i]
// counts observations in bucket i alone (the last one is +Inf), sum is
// a float64's bits.
type histogram struct {
	counts [16]atomic.Uint64
	sum    atomic.Uint64
}

// observe adds v as client_golang's histogram does: into the first
// bucket whose upper bound is ≥ v, and to the sum.
func (h *histogram) observe(v float64) {
	i := 0
	for i < len(latencyBuckets) && latencyBuckets[i] < v {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// metric is h as a constant histogram labeled service.
func (h *histogram) metric(d *prometheus.Desc, service string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(latencyBuckets))
	var n uint64
	for i, ub := range latencyBuckets {
		n += h.counts[i].Load()
		buckets[ub] = n
	}
	n += h.counts[len(latencyBuckets)].Load()
	return prometheus.MustNewConstHistogram(d, n, math.Float64frombits(h.sum.Load()), buckets, service)
}

// Observe counts one request answered status, which waited upstream for
// the upstream's response head (0: none) and spent proxy in the data
// plane.
func (s *Series) Observe(status int, upstream, proxy time.Duration) {
	s.m.total.Add(1)
	if status >= 500 && status < 600 {
		s.m.errors5xx.Add(1)
	}
	s.count(status).Add(1)
	if upstream > 0 {
		s.svc.upstream.observe(float64(upstream.Microseconds()) / 1000)
	}
	s.svc.proxy.observe(float64(proxy.Microseconds()) / 1000)
}

// count returns status's counter.
func (s *Series) count(status int) *atomic.Uint64 {
	code := int32(status)
	if code <= 0 || int(code) != status {
		return s.countMore(status)
	}
	for i := range s.codes {
		c := &s.codes[i]
		switch got := c.code.Load(); {
		case got == code:
			return &c.n
		case got == 0 && c.code.CompareAndSwap(0, code):
			return &c.n
		case c.code.Load() == code: // another request claimed it for code
			return &c.n
		}
	}
	return s.countMore(status)
}

func (s *Series) countMore(status int) *atomic.Uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.more[status]
	if n == nil {
		if s.more == nil {
			s.more = map[int]*atomic.Uint64{}
		}
		n = new(atomic.Uint64)
		s.more[status] = n
	}
	return n
}

// collect sends s's request counters.
func (s *Series) collect(ch chan<- prometheus.Metric) {
	for i := range s.codes {
		c := &s.codes[i]
		if code := c.code.Load(); code != 0 {
			ch <- prometheus.MustNewConstMetric(descHTTPRequests, prometheus.CounterValue, float64(c.n.Load()),
				s.service, s.route, strconv.Itoa(int(code)))
		}
	}
	s.mu.Lock()
	codes := make([]int, 0, len(s.more))
	for code := range s.more {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		ch <- prometheus.MustNewConstMetric(descHTTPRequests, prometheus.CounterValue, float64(s.more[code].Load()),
			s.service, s.route, strconv.Itoa(code))
	}
	s.mu.Unlock()
}

// seriesKey names a Series.
type seriesKey struct{ service, route string }

// requestMetrics holds every Series and service histogram; it is the
// prometheus.Collector of the request metrics.
type requestMetrics struct {
	mu       sync.Mutex
	series   map[seriesKey]*Series
	services map[string]*serviceLatency
}

// Series returns the metrics of requests to service through route ("" for
// none), made on first use. The proxy keeps it with the route, so a
// request does not look its labels up.
func (m *Metrics) Series(service, route string) *Series {
	r := &m.req
	r.mu.Lock()
	defer r.mu.Unlock()
	k := seriesKey{service, route}
	if s := r.series[k]; s != nil {
		return s
	}
	if r.series == nil {
		r.series, r.services = map[seriesKey]*Series{}, map[string]*serviceLatency{}
	}
	svc := r.services[service]
	if svc == nil {
		svc = &serviceLatency{service: service}
		r.services[service] = svc
	}
	s := &Series{m: m, service: service, route: route, svc: svc}
	r.series[k] = s
	return s
}

// Describe implements prometheus.Collector.
func (r *requestMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHTTPRequests
	ch <- descUpstreamLatency
	ch <- descProxyLatency
}

// Collect implements prometheus.Collector.
func (r *requestMetrics) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	series := make([]*Series, 0, len(r.series))
	for _, s := range r.series {
		series = append(series, s)
	}
	services := make([]*serviceLatency, 0, len(r.services))
	for _, s := range r.services {
		services = append(services, s)
	}
	r.mu.Unlock()
	for _, s := range series {
		s.collect(ch)
	}
	for _, s := range services {
		ch <- s.upstream.metric(descUpstreamLatency, s.service)
		ch <- s.proxy.metric(descProxyLatency, s.service)
	}
}

// Retain drops the request metrics of services and routes cfg no longer
// has (labels: a name, else the id; "" is kept: requests matching no
// route or service), so that deleted entities do not stay exported until
// the data plane restarts. The proxy calls it after each configuration
// it applies; a request still served by the replaced configuration may
// bring a dropped series back until the next one.
func (m *Metrics) Retain(cfg *model.Config) {
	services, routes := label.Sets(cfg)
	r := &m.req
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.series {
		if !services.Kept(k.service) || !routes.Kept(k.route) {
			delete(r.series, k)
		}
	}
	for name := range r.services {
		if !services.Kept(name) {
			delete(r.services, name)
		}
	}
}
