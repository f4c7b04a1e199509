package status

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descHealth = prometheus.NewDesc("skyport_upstream_target_health",
		"Health of an upstream target: 1 healthy, 0 unhealthy.", []string{"upstream", "target"}, nil)
	descRevision = prometheus.NewDesc("skyport_config_revision",
		"Revision of the running configuration.", nil, nil)
	descLastApply = prometheus.NewDesc("skyport_config_last_apply_timestamp_seconds",
		"When a configuration was last applied (Unix seconds).", nil, nil)
	descReady = prometheus.NewDesc("skyport_ready",
		"1 when a configuration is loaded.", nil, nil)
	descConnected = prometheus.NewDesc("skyport_sync_connected",
		"1 while the control plane connection is up.", nil, nil)
	descSource = prometheus.NewDesc("skyport_sync_source",
		"Where the running configuration came from (the label), always 1.", []string{"source", "cp"}, nil)
	descRejected = prometheus.NewDesc("skyport_sync_rejected_revision",
		"The last revision refused, 0 if none.", nil, nil)
	descDeltas = prometheus.NewDesc("skyport_sync_deltas_total",
		"Deltas offered by the control plane: applied, or not applied (fallback: the full snapshot was fetched).", []string{"outcome"}, nil)
	descConns = prometheus.NewDesc("skyport_connections",
		"Proxy connections by state, as Kong's /status reports them.", []string{"state"}, nil)
	descRequests = prometheus.NewDesc("skyport_requests_total",
		"Requests handled by the proxy.", nil, nil)
)

// stateCollector reports the proxy's and the sync client's state at
// scrape time.
type stateCollector struct {
	src  Source
	sync SyncReporter
	m    *Metrics
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHealth, descRevision, descLastApply, descReady,
		descConnected, descSource, descRejected, descDeltas, descConns, descRequests} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.src.Health() {
		ch <- prometheus.MustNewConstMetric(descHealth, prometheus.GaugeValue, b2f(t.Healthy), t.Upstream, t.Target)
	}
	rev, _ := c.src.Current()
	ch <- prometheus.MustNewConstMetric(descRevision, prometheus.GaugeValue, float64(rev))
	if t := c.src.LastApply(); !t.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastApply, prometheus.GaugeValue, float64(t.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, b2f(c.src.Ready()))
	if c.sync != nil {
		st := c.sync.SyncState()
		ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, b2f(st.CP == "connected"))
		ch <- prometheus.MustNewConstMetric(descSource, prometheus.GaugeValue, 1, st.Source, st.CP)
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.GaugeValue, float64(st.RejectedRevision))
		ch <- prometheus.MustNewConstMetric(descDeltas, prometheus.CounterValue, float64(st.Deltas), "applied")
		ch <- prometheus.MustNewConstMetric(descDeltas, prometheus.CounterValue, float64(st.DeltaFallbacks), "fallback")
	}
	m := c.m
	for state, n := range map[string]int64{"active": m.active.Load(), "reading": m.reading.Load(),
		"writing": m.writing.Load(), "waiting": m.waiting.Load()} {
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(m.total.Load()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
