package status

import (
	"net"
	"net/http"
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
	reg *prometheus.Registry
	// req holds the request metrics (see Series).
	req requestMetrics

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
	m.reg.MustRegister(&m.req,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one proxied request: Series(service,
// route).Observe, for callers that keep no Series.
func (m *Metrics) ObserveRequest(service, route string, status int, upstream, proxy time.Duration) {
	m.Series(service, route).Observe(status, upstream, proxy)
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

// ConnTracker is ConnState for one connection (h1.Server.ConnTracker): the
// returned function keeps the connection's state itself, so a change
// costs no look-up.
func (m *Metrics) ConnTracker(net.Conn) func(http.ConnState) {
	var state http.ConnState
	tracked := false
	return func(s http.ConnState) {
		if tracked {
			if n := m.stateCounter(state); n != nil {
				n.Add(-1)
			}
		}
		switch s {
		case http.StateHijacked, http.StateClosed:
			tracked = false
			m.active.Add(-1)
			return
		case http.StateNew:
			m.accepted.Add(1)
			m.handled.Add(1)
			m.active.Add(1)
		}
		state, tracked = s, true
		if n := m.stateCounter(s); n != nil {
			n.Add(1)
		}
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
