package status_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/model"
)

// reference is the request metrics as client_golang's vectors keep them:
// what /metrics served before the data plane kept them itself.
type reference struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	upstream, proxy *prometheus.HistogramVec
}

func newReference() *reference {
	buckets := []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000}
	r := &reference{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skyport_http_requests_total", Help: "Proxied requests by service, route and status code.",
	}, []string{"service", "route", "code"})
	r.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "skyport_upstream_latency_ms", Help: "Time waiting for the upstream's response headers, in milliseconds.",
		Buckets: buckets,
	}, []string{"service"})
	r.proxy = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "skyport_proxy_latency_ms", Help: "Time spent in the data plane before proxying, in milliseconds.",
		Buckets: buckets,
	}, []string{"service"})
	r.reg.MustRegister(r.requests, r.upstream, r.proxy)
	return r
}

func (r *reference) observe(service, route string, status int, upstream, proxy time.Duration) {
	r.requests.WithLabelValues(service, route, strconv.Itoa(status)).Inc()
	up := r.upstream.WithLabelValues(service)
	if upstream > 0 {
		up.Observe(float64(upstream.Microseconds()) / 1000)
	}
	r.proxy.WithLabelValues(service).Observe(float64(proxy.Microseconds()) / 1000)
}

// exposition is the text format of reg's request metrics.
func exposition(t *testing.T, reg prometheus.Gatherer) string {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var b bytes.Buffer
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "skyport_http_") && !strings.HasSuffix(f.GetName(), "_latency_ms") {
			continue
		}
		_, err := expfmt.MetricFamilyToText(&b, f)
		require.NoError(t, err)
	}
	return b.String()
}

// TestSeriesExposition: the request metrics the data plane keeps are
// exposed exactly as client_golang's vectors expose the same
// observations (names, help, labels, buckets, counts and sums), whether
// observed through a kept Series or ObserveRequest, concurrently, with
// more status codes than a Series counts without a lock.
func TestSeriesExposition(t *testing.T) {
	t.Parallel()
	m, ref := status.NewMetrics(), newReference()
	type obs struct {
		service, route string
		status         int
		upstream       time.Duration
		proxy          time.Duration
	}
	var all []obs
	codes := []int{200, 201, 204, 301, 404, 429, 500, 502, 503, 504, 0}
	// Bucket bounds and either side of them; in milliseconds, each is a
	// binary fraction, so that sums are exact in any order.
	latencies := []time.Duration{0, 1, 125 * time.Microsecond, time.Millisecond, 1125 * time.Microsecond,
		2 * time.Millisecond, 7*time.Millisecond + 875*time.Microsecond, 250 * time.Millisecond,
		time.Minute, 2 * time.Minute}
	for i := range 400 {
		o := obs{service: fmt.Sprintf("svc%d", i%3), route: fmt.Sprintf("r%d", i%5), status: codes[i%len(codes)],
			upstream: latencies[i%len(latencies)], proxy: latencies[(i*7+3)%len(latencies)]}
		if i%5 == 4 {
			o.service = "" // a route without a service
		}
		if i%13 == 0 {
			o.service, o.route = "", "" // no route matched
		}
		all = append(all, o)
	}
	for _, o := range all {
		ref.observe(o.service, o.route, o.status, o.upstream, o.proxy)
	}
	// Half through kept Series from two goroutines, half through
	// ObserveRequest.
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Go(func() {
			for i, o := range all {
				if i%2 != part {
					continue
				}
				if part == 0 {
					m.Series(o.service, o.route).Observe(o.status, o.upstream, o.proxy)
				} else {
					m.ObserveRequest(o.service, o.route, o.status, o.upstream, o.proxy)
				}
			}
		})
	}
	wg.Wait()
	want := exposition(t, ref.reg)
	require.Contains(t, want, `skyport_http_requests_total{code="504",route="r3",service="svc0"}`)
	require.Equal(t, want, exposition(t, m.Registry()))
}

// TestRetainDropsDeletedEntities: a configuration that no longer has a
// service or route drops their request series and latency histograms;
// those of the entities it has, and of requests matching none, stay.
func TestRetainDropsDeletedEntities(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	m := status.NewMetrics()
	for _, l := range [][2]string{{"kept", "r-kept"}, {"gone", "r-gone"}, {"kept", "r-gone"},
		{"a000-svc-id", "a000-route-id"}, {"", ""}} {
		m.ObserveRequest(l[0], l[1], 200, time.Millisecond, time.Millisecond)
	}
	before := exposition(t, m.Registry())
	require.Contains(t, before, `service="gone"`)
	m.Retain(&model.Config{
		Services: []*model.Service{{Base: model.Base{ID: "1"}, Name: str("kept")}, {Base: model.Base{ID: "a000-svc-id"}, Name: str("")}},
		Routes:   []*model.Route{{Base: model.Base{ID: "2"}, Name: str("r-kept")}, {Base: model.Base{ID: "a000-route-id"}}},
	})
	got := exposition(t, m.Registry())
	for _, want := range []string{`{code="200",route="r-kept",service="kept"}`,
		`{code="200",route="a000-route-id",service="a000-svc-id"}`, `{code="200",route="",service=""}`,
		`skyport_proxy_latency_ms_count{service="kept"}`, `skyport_proxy_latency_ms_count{service=""}`} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, `"gone"`)
	require.NotContains(t, got, `"r-gone"`)
	// A series dropped and used again starts over.
	m.ObserveRequest("gone", "r-gone", 200, 0, time.Millisecond)
	require.Contains(t, exposition(t, m.Registry()), `skyport_http_requests_total{code="200",route="r-gone",service="gone"} 1`)
}
