package upstream

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Outcome is the result of one proxied request or probe, as health checks
// count it.
type Outcome int

const (
	// Response means the target answered; the status decides.
	Response Outcome = iota
	// TCPFailure means the connection failed (refused, reset).
	TCPFailure
	// Timeout means connecting or reading timed out.
	Timeout
	// Success means a TCP check connected.
	Success
)

// health is one target's state and Kong's counters: each kind of failure
// counts separately towards its threshold, a success resets the failure
// counters and a failure resets the success counter; reaching a threshold
// flips the state and resets every counter.
type health struct {
	healthy atomic.Bool

	mu                                          sync.Mutex
	successes, httpFailures, tcpFailures, tmout int
}

// thresholds are the counts that flip a target's state; 0 disables a count.
type thresholds struct {
	successes, httpFailures, tcpFailures, timeouts int
	healthyStatuses, unhealthyStatuses             []int
}

// record counts one outcome and reports whether the state changed.
func (h *health) record(th *thresholds, o Outcome, status int) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	healthy := h.healthy.Load()
	switch {
	case o == TCPFailure:
		return h.fail(healthy, &h.tcpFailures, th.tcpFailures)
	case o == Timeout:
		return h.fail(healthy, &h.tmout, th.timeouts)
	case slices.Contains(th.unhealthyStatuses, status):
		return h.fail(healthy, &h.httpFailures, th.httpFailures)
	case o == Success || slices.Contains(th.healthyStatuses, status):
		h.httpFailures, h.tcpFailures, h.tmout = 0, 0, 0
		if healthy || th.successes == 0 {
			return false
		}
		h.successes++
		if h.successes >= th.successes {
			h.set(true)
			return true
		}
	}
	return false
}

func (h *health) fail(healthy bool, counter *int, limit int) bool {
	h.successes = 0
	if !healthy || limit == 0 {
		return false
	}
	*counter++
	if *counter >= limit {
		h.set(false)
		return true
	}
	return false
}

func (h *health) set(healthy bool) {
	h.healthy.Store(healthy)
	h.successes, h.httpFailures, h.tcpFailures, h.tmout = 0, 0, 0, 0
}

// TargetHealth is one target's state, for metrics and the status API.
type TargetHealth struct {
	Upstream   string
	UpstreamID string
	Target     string
	Weight     int
	Healthy    bool
	// Checked is false when the upstream has no health check, active or
	// passive (Kong's HEALTHCHECKS_OFF).
	Checked bool
}

// Report feeds the passive health check with the outcome of a proxied
// request to t; status is the response status for Response.
func (p *Pool) Report(t *Target, o Outcome, status int) {
	if !p.passive {
		return
	}
	if t.health.record(&p.passiveTh, o, status) {
		p.logChange(t, "passive")
	}
}

// SetHealthy sets a target's state by hand (Kong's
// /upstreams/{u}/targets/{t}/healthy and /unhealthy).
func (p *Pool) SetHealthy(target string, healthy bool) bool {
	for _, t := range p.targets {
		if t.Name == target {
			t.health.mu.Lock()
			t.health.set(healthy)
			t.health.mu.Unlock()
			return true
		}
	}
	return false
}

// Health lists the targets and their states.
func (p *Pool) Health() []TargetHealth {
	out := make([]TargetHealth, len(p.targets))
	for i, t := range p.targets {
		out[i] = TargetHealth{Upstream: p.Name, UpstreamID: p.up.ID, Target: t.Name, Weight: t.Weight,
			Healthy: t.Healthy(), Checked: p.checked()}
	}
	return out
}

// checked reports whether any health check runs on the pool.
func (p *Pool) checked() bool {
	a := &p.up.Healthchecks.Active
	return p.passive || a.Healthy.Interval > 0 || a.Unhealthy.Interval > 0
}

// upstreamHealthy applies healthchecks.threshold: the pool serves only
// while the healthy share of weight is at least threshold percent.
func (p *Pool) upstreamHealthy() bool {
	if p.up.Healthchecks.Threshold <= 0 {
		return true
	}
	total, ok := 0, 0
	for _, t := range p.targets {
		total += t.Weight
		if t.Healthy() {
			ok += t.Weight
		}
	}
	return total > 0 && float64(ok)*100/float64(total) >= p.up.Healthchecks.Threshold
}
