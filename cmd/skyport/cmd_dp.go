package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	promplugin "github.com/skyport-gw/skyport/dataplane/plugins/prometheus"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/status"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/admin"
)

// dpOptions are the data plane's settings (docs/contracts.md, "skyport
// dp"); every flag has a SKYPORT_* environment twin.
type dpOptions struct {
	CPURL             string
	CPAuth            string
	CPToken           string
	CPCA              string
	FallbackURL       string
	CacheDir          string
	DeclarativeConfig string
	VerifyKey         string
	ProxyListen       string
	ProxyTLSListen    string
	StatusListen      string
	PprofListen       string
	NodeID            string
	Labels            string
	LatencyHeaders    bool
	RequestIDHeaders  bool
	// EventLoop serves the plain-HTTP proxy listener on event loops:
	// on, off, or "" for proxy.DefaultEventLoop.
	EventLoop string
	// ProxyCacheAPI serves proxy-cache's Admin API routes on the status
	// listener.
	ProxyCacheAPI bool
	// CountersTable is the DynamoDB table of the rate-limiting plugins'
	// cluster policy; empty leaves the policy unavailable.
	CountersTable string
	// AdoptCluster lets the data plane follow a control plane of another
	// cluster than the one its cache holds (dpsync.Config.AdoptCluster).
	AdoptCluster bool
	// AccessLog is off, stdout or a file path; empty means stdout.
	AccessLog    string
	DrainTimeout time.Duration
	FallbackPoll time.Duration
	// ReportInterval is how often status is sent after an apply, for a
	// staged rollout's halt conditions (dpsync.Config.ReportInterval).
	ReportInterval time.Duration
	// traffic counts requests for the status reports (set by runDataPlane).
	traffic func() (requests, errors5xx int64)
	// GCPercent is set as the garbage collector's target by "skyport dp"
	// (not by the built-in data plane of "skyport local").
	GCPercent int

	tlsFlags
	limitFlags

	// logFormat is the process's log format, which the access log
	// follows: "text" or "json"; not a flag.
	logFormat string
	// bound, when set, is called once every listener is bound, with the
	// listeners' names and addresses; not a flag.
	bound func([]boundAddr)

	// collectors are extra metrics served on /metrics (the prometheus
	// plugin's, the logging plugins' queues'); not a flag.
	collectors []prom.Collector
	// mounts are plugin Admin API routes served on the status listener,
	// by path prefix (proxy-cache's /proxy-cache).
	mounts map[string]http.Handler
	// cpClient, when set, dials the control plane instead of the default
	// client (the built-in data plane of skyport local); not a flag.
	cpClient *http.Client
}

// register adds the data plane's flags to fs.
func (o *dpOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.CPURL, "cp-url", "", "control plane WebSocket URL: wss://… (API Gateway stage) or ws://127.0.0.1:8005")
	fs.StringVar(&o.CPAuth, "cp-auth", "token", "how to authenticate to the control plane: iam (SigV4) or token")
	fs.StringVar(&o.CPToken, "cp-token", "", "bearer token for --cp-auth token")
	fs.StringVar(&o.CPCA, "cp-ca", "", "PEM file of certificates trusted, besides the system's roots, for a wss:// --cp-url and its snapshot downloads (skyport local --cluster-cert)")
	fs.StringVar(&o.FallbackURL, "fallback-url", "", "s3://bucket/prefix, file:///dir or https://host/prefix, or several separated by commas (read in order): snapshots read when the control plane is unreachable")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "directory for the last known good snapshot (survives restarts)")
	fs.StringVar(&o.DeclarativeConfig, "declarative-config", "", "a kong.yml file of at most 256 MiB: run without a control plane (DB-less)")
	fs.StringVar(&o.VerifyKey, "verify-key", "", "the publisher's Ed25519 public key: a file, or the key itself (PEM or base64); while the key rotates, several (PEM blocks one after another, or base64 keys separated by commas)")
	fs.StringVar(&o.ProxyListen, "proxy-listen", "0.0.0.0:8000", "HTTP proxy listen address")
	fs.StringVar(&o.ProxyTLSListen, "proxy-tls-listen", "0.0.0.0:8443", "HTTPS proxy listen address (empty disables)")
	fs.StringVar(&o.StatusListen, "status-listen", "127.0.0.1:8100", "status API listen address (/status, /status/ready, /metrics); loopback, as Kong's status_listen: 0.0.0.0:8100 lets other hosts in (a load balancer's health checks)")
	fs.StringVar(&o.PprofListen, "pprof-listen", "", "profiling endpoints (/debug/pprof/) listen address; empty disables (keep it on loopback)")
	fs.StringVar(&o.NodeID, "node-id", "", "node id reported to the control plane (default: generated and kept in --cache-dir)")
	fs.StringVar(&o.Labels, "labels", "", "labels reported to the control plane, k:v,k:v")
	fs.BoolVar(&o.AdoptCluster, "adopt-cluster", false, "follow a control plane of another cluster than the one the running configuration or --cache-dir belongs to (without it, such snapshots are refused and reported)")
	fs.BoolVar(&o.ProxyCacheAPI, "proxy-cache-api", false, "serve proxy-cache's Admin API routes (/proxy-cache: read and purge cached responses) on --status-listen; keep that listener private")
	fs.StringVar(&o.CountersTable, "counters-table", "", "DynamoDB table of the rate-limiting plugins' cluster policy (the stack's counter table); empty: the cluster policy is unavailable")
	fs.BoolVar(&o.LatencyHeaders, "latency-headers", true, "add X-Kong-Upstream-Latency and X-Kong-Proxy-Latency to responses")
	fs.BoolVar(&o.RequestIDHeaders, "request-id-headers", true, "send X-Kong-Request-Id to the upstream and back to the client")
	registerAccessLog(fs, &o.AccessLog)
	registerEventLoop(fs, &o.EventLoop)
	fs.IntVar(&o.GCPercent, "gc-percent", 200, "garbage collector target, as GOGC: heap growth between collections in percent (0 keeps Go's 100; the GOGC variable, when set, wins; at most 50 while a --declarative-config loads)")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 30*time.Second, "how long shutdown waits for requests in flight, then for the sync client to finish caching what it applied")
	o.tlsFlags.register(fs)
	o.limitFlags.register(fs)
	fs.DurationVar(&o.FallbackPoll, "fallback-poll", 30*time.Second, "how often the fallback is polled while the control plane is unreachable")
	fs.DurationVar(&o.ReportInterval, "report-interval", dpsync.DefaultReportInterval, "how often status (requests and 5xx since the revision was applied) is reported in the 10 minutes after an apply, for staged rollouts")
}

// registerEventLoop adds --event-loop to fs.
func registerEventLoop(fs *flag.FlagSet, v *string) {
	fs.StringVar(v, "event-loop", "", "serve the plain-HTTP proxy listener on epoll event loops, one per CPU (Linux; TLS listeners never): on or off; empty: "+
		eventLoopDefault())
}

// eventLoopDefault describes proxy.DefaultEventLoop for --event-loop's help.
func eventLoopDefault() string {
	if proxy.DefaultEventLoop {
		return "on"
	}
	return "off"
}

// registerAccessLog adds --access-log to fs.
func registerAccessLog(fs *flag.FlagSet, dest *string) {
	fs.StringVar(dest, "access-log", "stdout", "where one line per proxied request goes: off, stdout or a file appended to (JSON, or text with --log-format text; written at least every 200ms)")
}

// errNothingToServe: a data plane with no source of configuration.
var errNothingToServe = errors.New("nothing to serve: set --cp-url (SKYPORT_CP_URL) to follow a control plane, " +
	"or --declarative-config (SKYPORT_DECLARATIVE_CONFIG) to run a kong.yml without one (--fallback-url alone follows a snapshot store)")

// runDP implements "skyport dp".
func runDP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		o  dpOptions
		lf logFlags
	)
	fs := flag.NewFlagSet("skyport dp", flag.ContinueOnError)
	o.register(fs)
	lf.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := lf.check(); err != nil {
		return err
	}
	if err := checkAccessLog(o.AccessLog); err != nil {
		return err
	}
	if err := proxy.ParseEventLoop(o.EventLoop); err != nil {
		return fmt.Errorf("--event-loop: %w", err)
	}
	if o.CPURL == "" && o.DeclarativeConfig == "" && o.FallbackURL == "" {
		return errNothingToServe
	}
	if _, set := os.LookupEnv("GOGC"); !set && o.GCPercent != 0 {
		// A proxy's live heap is small and its allocation rate high: a
		// higher target trades a few MB for fewer collections.
		debug.SetGCPercent(o.GCPercent)
	}
	log := lf.logger(stderr)
	o.logFormat = lf.format(stderr)
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if n := containerMemoryLimit(); n > 0 {
			limit := int64(float64(n) * containerMemoryShare)
			debug.SetMemoryLimit(limit)
			log.Debug("soft memory limit from the container's", "bytes", limit, "container_bytes", n)
		}
	}
	pm := promplugin.NewMetrics()
	lq := logqueue.NewMetrics()
	o.collectors = append(o.collectors, pm, lq)
	reg, closePlugins, err := dataPlanePlugins(ctx, &o, plugins.Options{Metrics: pm, LogQueues: lq,
		NodeID: o.NodeID, Version: version}, log)
	if err != nil {
		return err
	}
	defer closePlugins()
	return runDataPlane(ctx, &o, reg, log)
}

// runDataPlane runs a data plane until ctx is done: the proxy on
// --proxy-listen, the status API on --status-listen, the declarative
// configuration or the sync client, then a graceful shutdown that stops
// accepting and drains requests for up to --drain-timeout (and as long
// again for the sync client to stop). Access logs go
// where --access-log says.
func runDataPlane(ctx context.Context, o *dpOptions, reg *plugin.Registry, log *slog.Logger) error {
	metrics := status.NewMetrics()
	for _, c := range o.collectors {
		if err := metrics.Registry().Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	limits, err := o.limits()
	if err != nil {
		return err
	}
	certificates, err := newCertManager(ctx, o, log.With("component", "certs"))
	if err != nil {
		return fmt.Errorf("starting the certificate manager: %w", err)
	}
	defer certificates.Close()
	dest := o.AccessLog
	if dest == "" {
		dest = "stdout"
	}
	access, err := openAccessLog(dest, o.logFormat, os.Stdout)
	if err != nil {
		return err
	}
	defer func() { _ = access.close() }()
	px := proxy.New(proxy.Options{
		Registry: reg, Version: version, LatencyHeaders: o.LatencyHeaders, RequestID: o.RequestIDHeaders,
		Observer: proxy.ObserverFunc(func(svc, route string) proxy.Series { return metrics.Series(svc, route) }), AccessLog: access.logger, AccessLogWriter: access.writer,
		Log: log.With("component", "proxy"), Certificates: certificates, UpstreamTLS: certs.UpstreamTLS,
		Limits: limits, VaultEnv: os.LookupEnv, Retain: retainer(metrics, o.collectors), EventLoop: o.EventLoop,
	})
	defer px.Close()
	releasing := &releasingProxy{Server: px}
	defer releasing.stopRelease()
	if o.DeclarativeConfig != "" {
		if err := loadDeclarative(ctx, releasing, o.DeclarativeConfig); err != nil {
			return err
		}
		// Nothing is served yet: the load's garbage goes back now rather
		// than during the first requests.
		releasing.releaseNow()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o.traffic = metrics.Traffic
	reporter, synced, err := startSync(ctx, o, releasing, log)
	if err != nil {
		return fmt.Errorf("starting sync: %w", err)
	}
	statusHandler, err := status.New(px, reporter, metrics)
	if err != nil {
		return err
	}
	for prefix, h := range o.mounts {
		statusHandler.Mount(prefix, h)
	}
	// The proxy's listeners apply the limits on clients (header size,
	// idle and slow connections).
	proxyServer := func(h http.Handler, tc *tls.Config) *proxy.Frontend {
		srv := px.Frontend(h)
		srv.ConnState, srv.TLSConfig, srv.ErrorLog = metrics.ConnState, tc, slogErrorLog(log)
		srv.ConnTracker = metrics.ConnTracker
		return srv
	}
	servers := []*namedServer{{name: "proxy", addr: o.ProxyListen, srv: proxyServer(certificates.HTTPChallengeHandler(px), nil)}}
	if o.ProxyTLSListen != "" {
		servers = append(servers, &namedServer{name: "proxy-tls", addr: o.ProxyTLSListen, srv: proxyServer(px, certificates.TLSConfig())})
	}
	servers = append(servers, &namedServer{name: "status", addr: o.StatusListen, srv: &http.Server{Handler: statusHandler,
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(log)}})
	if o.PprofListen != "" {
		servers = append(servers, &namedServer{name: "pprof", addr: o.PprofListen, srv: &http.Server{Handler: pprofHandler(),
			ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(log)}})
	}
	err = serveAll(ctx, servers, o.DrainTimeout, log, o.bound)
	cancel()
	waitSync(synced, o.DrainTimeout, log)
	return err
}

// waitSync waits up to timeout for the sync client to stop, so that a
// graceful shutdown leaves the revision it applied last in the cache.
func waitSync(done <-chan struct{}, timeout time.Duration, log *slog.Logger) {
	if done == nil {
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("sync client still stopping: the cache may hold an older revision", "timeout", timeout.String())
	}
}

// loadGCPercent is the collector's target while a declarative
// configuration loads, when the process's is higher: the parse holds
// its entities, the index of their names and the file at once, and with
// --gc-percent 200 the heap grew to three times that (1.4 GB for a
// kong.yml of a million entities). The runtime keeps the span records
// and GC metadata of the largest heap it had, so the load's peak is what
// the process holds after it; the target is put back once it is applied.
const loadGCPercent = 50

// loadDeclarative applies a kong.yml file (Kong's DB-less mode).
func loadDeclarative(ctx context.Context, px applier, path string) error {
	return loadDeclarativeGC(ctx, px, path, debug.SetGCPercent)
}

// loadDeclarativeGC is loadDeclarative with the collector's target set
// through setGC (debug.SetGCPercent: it sets the target and returns the
// previous one).
func loadDeclarativeGC(ctx context.Context, px applier, path string, setGC func(percent int) int) error {
	if prev := setGC(loadGCPercent); prev >= 0 && prev < loadGCPercent {
		setGC(prev)
	} else {
		defer setGC(prev)
	}
	data, err := readDeclarative(path)
	if err != nil {
		return err
	}
	cfg, err := declarative.ParseFile(path, data)
	if err != nil {
		return fmt.Errorf("parsing declarative configuration %s: %w", path, err)
	}
	cfg.Pack()
	if err := px.Apply(ctx, cfg, 1, "declarative"); err != nil {
		return fmt.Errorf("loading declarative configuration %s: %w", path, err)
	}
	return nil
}

// readDeclarative reads a kong.yml file of at most admin.MaxConfigBytes,
// the Admin API's bound on a POST /config body.
func readDeclarative(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading declarative configuration: %w", err)
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	if size > admin.MaxConfigBytes {
		return nil, fmt.Errorf("reading declarative configuration %s: %d bytes, more than the %d a configuration may have", path, size, int64(admin.MaxConfigBytes))
	}
	// One buffer of the file's size and a byte for EOF, grown only when a
	// non-regular file fills it: bytes.Buffer.ReadFrom would copy a full
	// buffer into one twice as large to keep bytes.MinRead free.
	data := make([]byte, 0, max(size+1, 512))
	r := io.LimitReader(f, admin.MaxConfigBytes+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading declarative configuration %s: %w", path, err)
		}
	}
	if len(data) > admin.MaxConfigBytes {
		return nil, fmt.Errorf("reading declarative configuration %s: more than the %d bytes a configuration may have", path, int64(admin.MaxConfigBytes))
	}
	return data, nil
}

// namedServer is one listener of the data plane: a proxy.Frontend (with
// a TLSConfig, it serves HTTPS: HTTP/1.1 and HTTP/2) or a plain
// http.Server.
type namedServer struct {
	name, addr string
	srv        server
}

// server is what serveAll runs on a listener.
type server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
	Close() error
}

// boundAddr is a listener's name and the address it is bound to.
type boundAddr struct{ name, addr string }

// serveAll listens on every server's address, tells bound (when set) the
// addresses once all are bound, serves until ctx is done or one fails,
// then shuts them all down gracefully within drain.
func serveAll(ctx context.Context, servers []*namedServer, drain time.Duration, log *slog.Logger, bound func([]boundAddr)) error {
	var (
		lns   []net.Listener
		addrs []boundAddr
	)
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("listening for %s on %s: %w", s.name, s.addr, err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, boundAddr{s.name, ln.Addr().String()})
		log.Info("listening", "listener", s.name, "addr", ln.Addr().String())
	}
	if bound != nil {
		bound(addrs)
	}
	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			if err := s.srv.Serve(lns[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving %s: %w", s.name, err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("shutting down: draining requests in flight", "timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	for _, s := range servers {
		if e := s.srv.Shutdown(sctx); e != nil {
			log.Warn("drain incomplete, closing connections", "listener", s.name, "error", e)
			s.srv.Close()
		}
	}
	wg.Wait()
	log.Info("stopped")
	return err
}

// pprofHandler serves the runtime profiles under /debug/pprof/.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// slogErrorLog routes net/http's own messages (TLS handshake errors,
// panics in handlers) to log.
// retainer returns the proxy's Retain: each applied configuration drops
// the series of deleted services and routes from the request metrics and
// from the collectors that keep such series.
func retainer(metrics *status.Metrics, collectors []prom.Collector) func(*model.Config) {
	type retainer interface{ Retain(*model.Config) }
	return func(cfg *model.Config) {
		metrics.Retain(cfg)
		for _, c := range collectors {
			if r, ok := c.(retainer); ok {
				r.Retain(cfg)
			}
		}
	}
}

func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
