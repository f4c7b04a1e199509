package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/dataplane/vault"
	"github.com/skyport-gw/skyport/internal/model"
)

// compiled is one configuration ready to serve: immutable once built,
// except for the health state inside its pools.
type compiled struct {
	revision int64
	hash     string
	source   string
	applied  time.Time

	router   *router.Router
	services map[string]*service
	// caCerts and certs are the lists services' TLS settings were built
	// from (Options.UpstreamTLS), which a later compile compares.
	caCerts []*model.CACertificate
	certs   []*model.Certificate
	pools   map[string]*upstream.Pool
	plugins *plugin.Set

	inflight atomic.Int64
	stop     context.CancelFunc
	// series caches the Observer's Series of each (route, service) the
	// configuration answered.
	series sync.Map // seriesKey → Series
	// gen is the configuration's number, which routeMemo compares: Apply
	// sets it, once the configuration is compiled and its certificates
	// loaded, from one counter for the whole process (configGens), so no
	// two configurations applied to any Servers share one — the pooled
	// native exchanges serve every Server, and two Servers given the
	// same model.Config share its routes. A Server's numbers grow but
	// are not consecutive; one compiled by Check and never applied
	// keeps 0.
	gen uint64
}

// configGens is the last number given to an applied configuration
// (compiled.gen); the first is 1.
var configGens atomic.Uint64

// seriesKey names the Series of requests matched to route (nil: none)
// and proxied to svc (nil: none).
type seriesKey struct {
	route *model.Route
	svc   *service
}

// routeMemo remembers what a pooled native exchange looked up for the
// last route it served: the route and its service (service), and the
// Series of the two once observed (Server.series), with the number of
// the configuration they came from. A request of the same route under
// the configuration of that number, mostly the next one of the same
// connection (which gets the exchange back), finds them there rather
// than in the configuration's maps (services, series); any other
// request looks them up there and remembers its own (a route whose
// service the configuration lacks leaves the memo as it was). It keeps the number rather
// than a pointer to the compiled configuration, but the route, service
// and Series it holds are that configuration's: a pooled exchange keeps
// them reachable after the configuration is replaced, until it serves
// another route or the pool drops it.
type routeMemo struct {
	gen uint64
	key seriesKey
	// series is key's, nil until observed.
	series Series
}

// service returns the service m's route is proxied to in c (nil when c
// has none of that id): the memo's for the same route of the same
// configuration, else c's, then remembered.
func (mm *routeMemo) service(c *compiled, m *router.Match) *service {
	if mm.gen == c.gen && mm.key.route == m.Route && mm.key.svc != nil {
		return mm.key.svc
	}
	svc := c.services[m.Service.ID]
	if svc != nil {
		mm.gen, mm.key, mm.series = c.gen, seriesKey{route: m.Route, svc: svc}, nil
	}
	return svc
}

// resolve returns cfg with its vault references resolved from the data
// plane's environment; compile and the certificate manager take its result.
func (s *Server) resolve(cfg *model.Config) (*model.Config, error) {
	resolved, err := vault.Resolve(cfg, s.opts.VaultEnv)
	if err != nil {
		return nil, fmt.Errorf("resolving vault references: %w", err)
	}
	return resolved, nil
}

// compile builds everything cfg (resolved) needs; it starts nothing.
// prev, the running configuration or nil, lends what cfg leaves as it
// was (plugin.Rebuild: the credential indexes of the authentication
// plugins when no credential or consumer changed).
func (s *Server) compile(cfg *model.Config, prev *compiled) (*compiled, error) {
	c := &compiled{services: make(map[string]*service, len(cfg.Services)), pools: map[string]*upstream.Pool{},
		caCerts: cfg.CACertificates, certs: cfg.Certificates}
	byUpstream := map[string][]*model.Target{}
	ids := map[string]string{}
	for _, u := range cfg.Upstreams {
		ids[u.ID] = u.Name
	}
	for _, t := range cfg.Targets {
		if t.Upstream == nil || ids[t.Upstream.ID] == "" {
			return nil, fmt.Errorf("target %s (%s): unknown upstream", t.Target, t.ID)
		}
		byUpstream[t.Upstream.ID] = append(byUpstream[t.Upstream.ID], t)
	}
	for _, u := range cfg.Upstreams {
		p, err := upstream.New(u, byUpstream[u.ID], upstream.Options{Log: s.log})
		if err != nil {
			return nil, fmt.Errorf("compiling upstream %s: %w", u.Name, err)
		}
		c.pools[u.Name] = p
	}
	upstreams := map[string]*model.Upstream{}
	for _, u := range cfg.Upstreams {
		upstreams[u.Name] = u
	}
	for _, m := range cfg.Services {
		if svc := prev.keep(m, c, s.opts.UpstreamTLS != nil); svc != nil {
			c.services[m.ID] = svc
			continue
		}
		var tc *tls.Config
		if s.opts.UpstreamTLS != nil {
			var err error
			if tc, err = s.opts.UpstreamTLS(m, upstreams[m.Host], cfg); err != nil {
				return nil, fmt.Errorf("compiling service %s: %w", m.ID, err)
			}
		}
		svc, err := compileService(m, c.pools, tc)
		if err != nil {
			return nil, fmt.Errorf("compiling %w", err)
		}
		if svc != nil {
			c.services[m.ID] = svc
		}
	}
	routes := make([]*model.Route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		if len(r.Protocols) == 0 || slices.ContainsFunc(r.Protocols, func(p string) bool {
			return p == "http" || p == "https" || p == "ws" || p == "wss" || p == "grpc" || p == "grpcs"
		}) {
			routes = append(routes, r)
		}
	}
	var prevRouter *router.Router
	if prev != nil {
		prevRouter = prev.router
	}
	rt, err := router.Update(prevRouter, routes, cfg.Services)
	if err != nil {
		c.release()
		return nil, fmt.Errorf("compiling routes: %w", err)
	}
	c.router = rt
	var prevSet *plugin.Set
	if prev != nil {
		prevSet = prev.plugins
	}
	set, err := plugin.Rebuild(s.opts.Registry, cfg, prevSet)
	if err != nil {
		c.release()
		return nil, fmt.Errorf("building plugins: %w", err)
	}
	c.plugins = set
	return c, nil
}

// keep returns the service c compiled for m when next can serve it as it
// is: the same entity (a delta that left it alone shares it), dialled
// directly in both (no upstream's pool, which each compile builds anew),
// and, when its TLS settings come from the configuration (withTLS), the
// same certificates. A kept service is shared: releasing c closes its
// idle connections, which it then dials again.
func (c *compiled) keep(m *model.Service, next *compiled, withTLS bool) *service {
	if c == nil {
		return nil
	}
	old := c.services[m.ID]
	switch {
	case old == nil || old.m != m || old.pool != nil || next.pools[m.Host] != nil:
		return nil
	case withTLS && (!plugin.Unchanged(c.caCerts, next.caCerts) || !plugin.Unchanged(c.certs, next.certs)):
		return nil
	}
	return old
}

// start launches the pools' background loops.
func (c *compiled) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	for _, p := range c.pools {
		p.Start(ctx)
	}
}

// retire waits (up to timeout) for the requests running on c, then stops
// its health checkers and closes its idle connections. Requests still
// running after timeout keep working: a transport stays usable.
func (c *compiled) retire(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for c.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	c.release()
}

func (c *compiled) release() {
	if c.stop != nil {
		c.stop()
	}
	for _, p := range c.pools {
		p.Stop()
	}
	for _, svc := range c.services {
		svc.closeIdle()
	}
	_ = c.plugins.Close() // loggers deliver what they queued, in the background
}

// health lists the state of every target of every upstream.
func (c *compiled) health() []upstream.TargetHealth {
	var out []upstream.TargetHealth
	for _, p := range c.pools {
		out = append(out, p.Health()...)
	}
	return out
}

// Check compiles cfg as Apply does (upstreams, services and their TLS
// settings, routes, plugins) and releases the result at once: the error
// Apply would refuse cfg with, before its certificates are loaded.
func (s *Server) Check(cfg *model.Config) error {
	if cfg == nil {
		return nil
	}
	resolved, err := s.resolve(cfg)
	if err != nil {
		return err
	}
	c, err := s.compile(resolved, nil)
	if err != nil {
		return err
	}
	c.release()
	return nil
}
