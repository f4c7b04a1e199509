package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/dataplane/vault"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Observer gives the metrics of proxied requests.
type Observer interface {
	// Series returns the metrics of requests to service through route
	// (labels: the service's and route's names or ids, "" for none). The
	// proxy asks once per route and configuration and keeps the answer,
	// so that a request looks no label up.
	Series(service, route string) Series
}

// Series receives one call per request of its service and route.
type Series interface {
	Observe(status int, upstream, proxy time.Duration)
}

// ObserverFunc is an Observer made of its Series function.
type ObserverFunc func(service, route string) Series

// Series implements Observer.
func (f ObserverFunc) Series(service, route string) Series { return f(service, route) }

var (
	_ http.Handler      = (*Server)(nil)
	_ http.RoundTripper = (*Server)(nil)
)

// Options configure a Server.
type Options struct {
	// Registry holds the plugins this data plane can run; nil means none.
	Registry *plugin.Registry
	// Version is reported in the Server and Via headers.
	Version string
	// LatencyHeaders adds X-Kong-Upstream-Latency, X-Kong-Proxy-Latency and
	// X-Kong-Response-Latency to responses.
	LatencyHeaders bool
	// RequestID sends X-Kong-Request-Id (the id error bodies carry) to the
	// upstream and back to the client, as Kong's default headers and
	// headers_upstream do.
	RequestID bool
	// Observer receives per-request metrics; nil disables them.
	Observer Observer
	// Retain, when set, is given each configuration once it is swapped
	// in, for the metrics to drop the series of the services and routes
	// it no longer has.
	Retain func(cfg *model.Config)
	// AccessLog receives one line per request; nil disables access logs.
	AccessLog *slog.Logger
	// AccessLogWriter, used when AccessLog is nil, receives one JSON line
	// per request (the fields AccessLog gets, in the shape of slog's JSON
	// handler), each in one Write call; the proxy encodes it without slog.
	// Give it a LogWriter to keep requests from waiting on the destination.
	AccessLogWriter io.Writer
	// Log receives operational messages; nil discards them.
	Log *slog.Logger
	// RetireTimeout bounds how long a replaced configuration waits for its
	// requests before its resources are released; default 60s.
	RetireTimeout time.Duration
	// Certificates, when set, is given every configuration after it
	// compiled and before it is swapped in; its error refuses the
	// configuration.
	Certificates CertificateUpdater
	// UpstreamTLS, when set, builds a service's TLS client settings
	// (tls_verify, ca_certificates, client_certificate); up is the upstream
	// its host names, nil when dialled directly. Nil keeps the minimal
	// handling: verification only with tls_verify, against system roots.
	UpstreamTLS func(svc *model.Service, up *model.Upstream, cfg *model.Config) (*tls.Config, error)
	// Limits bound what clients can make the proxy hold; zero fields take
	// nginx's defaults. Frontend applies those of the connection.
	Limits Limits
	// EventLoop says whether the Frontends of plain-HTTP listeners serve
	// their connections on event loops (dataplane/loop: epoll, each
	// connection's h1 code a coroutine of a loop, one loop per CPU)
	// rather than a goroutine each on Go's netpoller: "on", "off", or ""
	// for the environment's SKYPORT_EVENT_LOOP, else the default
	// (DefaultEventLoop). TLS listeners, HTTP/2 and requests that leave
	// the native path are served on goroutines either way.
	EventLoop string
	// VaultEnv reads the environment variables {vault://env/…}
	// references in plugin configurations and certificates name
	// (os.LookupEnv); nil leaves references as written.
	VaultEnv vault.Lookup
}

// CertificateUpdater serves the certificates of the running configuration
// on the TLS listener.
type CertificateUpdater interface {
	Update(ctx context.Context, cfg *model.Config) error
}

// Server is the proxy: an http.Handler serving the configuration most
// recently applied.
type Server struct {
	opts   Options
	log    *slog.Logger
	server string
	via    string
	rp     *httputil.ReverseProxy
	bufs   bufferPool
	limits Limits
	// ports caches the decimal names of listener ports (int → string),
	// for requests on a listener whose Frontend does not know its port.
	ports sync.Map
	// conns numbers the client connections of its Frontends.
	conns atomic.Uint64
	// lineTime formats the access log lines' times.
	lineTime lineTime

	applyMu   sync.Mutex
	cur       atomic.Pointer[compiled]
	lastApply atomic.Int64
	retiring  sync.WaitGroup

	// viewed, when set (by tests), is called for each response the
	// native path relays as a view.
	viewed func()
}

// New returns a proxy with no configuration: every request answers 404
// until Apply succeeds.
func New(o Options) *Server {
	if o.Registry == nil {
		o.Registry = plugin.NewRegistry()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RetireTimeout <= 0 {
		o.RetireTimeout = 60 * time.Second
	}
	s := &Server{opts: o, log: o.Log, server: "skyport/" + o.Version, via: "1.1 skyport/" + o.Version,
		limits: o.Limits.withDefaults()}
	s.rp = &httputil.ReverseProxy{
		Rewrite:        s.rewrite,
		Transport:      s,
		ModifyResponse: s.respond,
		ErrorHandler:   s.proxyError,
		// Responses of unknown length and event streams are flushed on
		// every write (ReverseProxy's own rule); others are sent at the
		// latest flushInterval after their bytes arrive, so a small
		// response goes out in one write.
		FlushInterval: flushInterval,
		BufferPool:    &bufferPool{},
		ErrorLog:      log.New(discard{}, "", 0),
	}
	return s
}

// flushInterval bounds how long a response's bytes wait in the
// connection's buffer before they are sent.
const flushInterval = 10 * time.Millisecond

type discard struct{}

// Write drops p: the proxy reports errors itself.
func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Apply compiles cfg completely and swaps it in; on error the running
// configuration is untouched. The replaced configuration is released in
// the background once its requests finish.
func (s *Server) Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error {
	return s.ApplyHashed(ctx, cfg, snapshot.ConfigHash(cfg), revision, source)
}

// ApplyHashed is Apply for a caller that knows cfg's hash
// (snapshot.ConfigHash), which Current then reports.
func (s *Server) ApplyHashed(ctx context.Context, cfg *model.Config, hash string, revision int64, source string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("applying revision %d: %w", revision, err)
	}
	if cfg == nil {
		cfg = &model.Config{}
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	resolved, err := s.resolve(cfg)
	if err != nil {
		return fmt.Errorf("applying revision %d: %w", revision, err)
	}
	c, err := s.compile(resolved, s.cur.Load())
	if err != nil {
		return fmt.Errorf("applying revision %d: %w", revision, err)
	}
	if s.opts.Certificates != nil {
		if err := s.opts.Certificates.Update(ctx, resolved); err != nil {
			c.release()
			return fmt.Errorf("applying revision %d: %w", revision, err)
		}
	}
	c.revision, c.hash, c.source, c.applied = revision, hash, source, time.Now()
	c.gen = configGens.Add(1)
	c.start()
	old := s.cur.Swap(c)
	s.lastApply.Store(c.applied.UnixNano())
	if s.opts.Retain != nil {
		s.opts.Retain(cfg)
	}
	s.log.Info("configuration applied", "revision", revision, "hash", hash, "source", source,
		"routes", len(cfg.Routes), "services", len(cfg.Services), "upstreams", len(cfg.Upstreams))
	if old != nil {
		s.retiring.Go(func() { old.retire(s.opts.RetireTimeout) })
	}
	return nil
}

// Current returns the running revision and configuration hash; 0 and ""
// before the first Apply.
func (s *Server) Current() (revision int64, hash string) {
	if c := s.cur.Load(); c != nil {
		return c.revision, c.hash
	}
	return 0, ""
}

// Ready reports whether a configuration has been loaded.
func (s *Server) Ready() bool { return s.cur.Load() != nil }

// Source is where the running configuration came from, "" before any.
func (s *Server) Source() string {
	if c := s.cur.Load(); c != nil {
		return c.source
	}
	return ""
}

// LastApply is when a configuration was last applied; zero if never.
func (s *Server) LastApply() time.Time {
	if n := s.lastApply.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Health lists the health of every upstream target of the running
// configuration.
func (s *Server) Health() []upstream.TargetHealth {
	if c := s.cur.Load(); c != nil {
		return c.health()
	}
	return nil
}

// Close releases the running configuration (health checkers, idle
// connections, and the logging plugins' queues, which deliver what they
// hold for up to 5 s) after waiting for replaced ones; call it after the
// HTTP servers have shut down.
func (s *Server) Close() {
	s.retiring.Wait()
	if c := s.cur.Swap(nil); c != nil {
		c.release()
	}
}

// Plugins lists the plugins this data plane can run, for the control
// plane's compatibility check.
func (s *Server) Plugins() []string { return s.opts.Registry.Names() }
