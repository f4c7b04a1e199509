package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
)

// ErrNoHealthyTarget reports that no target can take the request (Kong's
// "failure to get a peer from the ring-balancer").
var ErrNoHealthyTarget = errors.New("failure to get a peer from the ring-balancer")

// Options tune a pool; the zero value is usable.
type Options struct {
	// Resolver resolves target host names; nil uses net.DefaultResolver.
	Resolver *net.Resolver
	// ResolveEvery is how often host names are re-resolved; default 30s.
	ResolveEvery time.Duration
	// Log receives health state changes; nil discards them.
	Log *slog.Logger
}

// Pool is one upstream entity compiled for a configuration.
type Pool struct {
	// Name is the upstream's name, the host services use to reach it.
	Name string

	up          *model.Upstream
	algorithm   string
	targets     []*Target
	byName      map[string]*Target
	bal         balancer
	resolver    *net.Resolver
	every       time.Duration
	log         *slog.Logger
	passive     bool
	passiveTh   thresholds
	activeTh    thresholds
	probeClient *http.Client

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the pool of u over targets (those whose upstream is u).
func New(u *model.Upstream, targets []*model.Target, o Options) (*Pool, error) {
	p := &Pool{Name: u.Name, up: u, algorithm: u.Algorithm, byName: map[string]*Target{},
		resolver: o.Resolver, every: o.ResolveEvery, log: o.Log}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.every <= 0 {
		p.every = 30 * time.Second
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for _, mt := range targets {
		t, err := parseTarget(mt.Target, mt.Weight)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		if _, dup := p.byName[t.Name]; dup {
			return nil, fmt.Errorf("upstream %s: duplicate target %s", u.Name, t.Name)
		}
		p.byName[t.Name] = t
		p.targets = append(p.targets, t)
	}
	switch u.Algorithm {
	case "", "round-robin":
		p.bal = newRoundRobin(p.targets)
	case "consistent-hashing":
		p.bal = newRing(p.targets, max(u.Slots, 10))
	case "least-connections":
		p.bal = &leastConns{targets: p.targets}
	case "latency":
		p.bal = &leastConns{targets: p.targets, byLatency: true}
	default:
		return nil, fmt.Errorf("upstream %s: unknown algorithm %q", u.Name, u.Algorithm)
	}
	hc := &u.Healthchecks
	pu := &hc.Passive.Unhealthy
	p.passiveTh = thresholds{successes: hc.Passive.Healthy.Successes, httpFailures: pu.HTTPFailures,
		tcpFailures: pu.TCPFailures, timeouts: pu.Timeouts,
		healthyStatuses: hc.Passive.Healthy.HTTPStatuses, unhealthyStatuses: pu.HTTPStatuses}
	p.passive = p.passiveTh.successes+pu.HTTPFailures+pu.TCPFailures+pu.Timeouts > 0
	au := &hc.Active.Unhealthy
	p.activeTh = thresholds{successes: hc.Active.Healthy.Successes, httpFailures: au.HTTPFailures,
		tcpFailures: au.TCPFailures, timeouts: au.Timeouts,
		healthyStatuses: hc.Active.Healthy.HTTPStatuses, unhealthyStatuses: au.HTTPStatuses}
	p.probeClient = newProbeClient(hc.Active.HTTPSVerifyCertificate, deref(hc.Active.HTTPSSNI))
	return p, nil
}

// Start launches the pool's background loops: DNS refresh and active
// health checks. They run until Stop or until ctx is done.
func (p *Pool) Start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	if slices.ContainsFunc(p.targets, func(t *Target) bool { return !t.isIP }) {
		p.wg.Go(func() { p.resolveLoop(ctx) })
	}
	a := &p.up.Healthchecks.Active
	if d := seconds(a.Healthy.Interval); d > 0 {
		p.wg.Go(func() { p.probeLoop(ctx, true, d) })
	}
	if d := seconds(a.Unhealthy.Interval); d > 0 {
		p.wg.Go(func() { p.probeLoop(ctx, false, d) })
	}
}

// Stop ends the background loops and waits for them.
func (p *Pool) Stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.probeClient.CloseIdleConnections()
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func (p *Pool) resolveLoop(ctx context.Context) {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		for _, t := range p.targets {
			if err := t.resolve(ctx, p.resolver); err != nil && ctx.Err() == nil {
				p.log.Warn("resolving target", "upstream", p.Name, "target", t.Name, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Addr returns an address to dial for t (see Target.Addr), resolved with
// the pool's resolver.
func (p *Pool) Addr(ctx context.Context, t *Target) (string, error) { return t.Addr(ctx, p.resolver) }

// Target returns the target named host:port, for dialling.
func (p *Pool) Target(name string) *Target { return p.byName[name] }

// Pick chooses a target for one attempt, avoiding those already tried when
// possible; key is the consistent-hashing value (see HashKey). The caller
// calls Done on the target when the attempt ends.
func (p *Pool) Pick(key string, tried []*Target) (*Target, error) {
	if !p.upstreamHealthy() {
		return nil, ErrNoHealthyTarget
	}
	t := p.bal.pick(key, tried)
	if t == nil {
		return nil, ErrNoHealthyTarget
	}
	t.active.Add(1)
	return t, nil
}

func (p *Pool) logChange(t *Target, by string) {
	state := "unhealthy"
	if t.Healthy() {
		state = "healthy"
	}
	p.log.Info("target health changed", "upstream", p.Name, "target", t.Name, "state", state, "check", by)
}

// HostHeader is the upstream's host_header, "" when unset.
func (p *Pool) HostHeader() string { return deref(p.up.HostHeader) }
