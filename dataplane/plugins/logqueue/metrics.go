package logqueue

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics counts, per plugin, the log entries delivered, dropped (the
// queue was full or closed) and failed (their batch could not be
// delivered within max_retry_time). It is a prometheus.Collector.
type Metrics struct {
	sent, dropped, failed *prometheus.CounterVec

	mu   sync.Mutex
	byID map[string]*counters
}

type counters struct {
	sent, dropped, failed prometheus.Counter
}

// NewMetrics returns the log queues' counters.
func NewMetrics() *Metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"plugin"})
	}
	return &Metrics{
		sent:    vec("skyport_log_entries_sent_total", "Log entries delivered by the logging plugins."),
		dropped: vec("skyport_log_entries_dropped_total", "Log entries dropped because a logging plugin's queue was full."),
		failed:  vec("skyport_log_entries_failed_total", "Log entries given up after their batch failed for max_retry_time."),
		byID:    map[string]*counters{},
	}
}

// counters returns the plugin's counters, made once; a nil m counts
// nowhere.
func (m *Metrics) counters(plugin string) *counters {
	if m == nil {
		return &counters{sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "unused_sent"}),
			dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "unused_dropped"}),
			failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "unused_failed"})}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.byID[plugin]
	if c == nil {
		c = &counters{sent: m.sent.WithLabelValues(plugin), dropped: m.dropped.WithLabelValues(plugin),
			failed: m.failed.WithLabelValues(plugin)}
		m.byID[plugin] = c
	}
	return c
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.sent.Describe(ch)
	m.dropped.Describe(ch)
	m.failed.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.sent.Collect(ch)
	m.dropped.Collect(ch)
	m.failed.Collect(ch)
}

// Counts returns the plugin's sent, dropped and failed counts.
func (m *Metrics) Counts(plugin string) (sent, dropped, failed float64) {
	c := m.counters(plugin)
	return value(c.sent), value(c.dropped), value(c.failed)
}

func value(c prometheus.Counter) float64 {
	var out dto.Metric
	if err := c.Write(&out); err != nil {
		return 0
	}
	return out.GetCounter().GetValue()
}
