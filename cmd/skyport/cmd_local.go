package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/keygen"
	"github.com/skyport-gw/skyport/lambdas/publisher"
)

// localOptions are the settings of "skyport local" (docs/contracts.md, "skyport local").
type localOptions struct {
	DataDir       string
	AdminListen   string
	ClusterListen string
	DP            bool
	Backend       string
	Table         string
	ClusterTable  string
	Bucket        string
	// SigningKeySecret is the Secrets Manager secret of the signing key
	// (--backend aws).
	SigningKeySecret string
	Create           bool
	AdminToken       string
	ClusterToken     string
	// Cluster listener: the address data planes dial, its TLS
	// certificate, and the data-plane rows one token may create.
	ClusterAdvertise string
	ClusterCert      string
	ClusterCertKey   string
	ClusterMaxNodes  int
	// History is the retention of the configuration history.
	HistoryMaxRevisions int
	HistoryMaxAge       time.Duration
	// Full* schedule the publisher's full snapshots (publisher.Options).
	FullEvery  int
	FullRatio  float64
	FullMaxAge time.Duration
	// RolloutPolicy is a JSON file: the staged rollout's policy when none
	// is set through the Admin API.
	RolloutPolicy string
	// MemoryLimit is the process's soft memory limit: a size, 0, or auto
	// (cmd_local_memory.go).
	MemoryLimit string
	// dp holds the built-in data plane's listen flags.
	dp  dpOptions
	log logFlags
}

func (o *localOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.DataDir, "data-dir", "./.skyport", "state directory: the embedded backend's cp.db, snapshots/ and publisher.key; publisher.pub (the verify keys); dp/ (the built-in data plane's cache)")
	fs.StringVar(&o.AdminListen, "admin-listen", "127.0.0.1:8001", "Admin API listen address")
	fs.StringVar(&o.ClusterListen, "cluster-listen", "127.0.0.1:8005", "WebSocket hub listen address (data planes connect here)")
	fs.BoolVar(&o.DP, "dp", true, "run a built-in data plane; --dp=false runs the control plane alone")
	fs.StringVar(&o.Backend, "backend", "embedded", "embedded (a file under --data-dir) or aws (DynamoDB + its stream + S3, through the AWS SDK)")
	fs.StringVar(&o.Table, "table", "skyport", "--backend aws: the configuration table")
	fs.StringVar(&o.ClusterTable, "cluster-table", "skyport-cluster", "--backend aws: the cluster table (connections, data planes)")
	fs.StringVar(&o.Bucket, "bucket", "s3://skyport-snapshots", "--backend aws: s3://bucket/prefix of the snapshots")
	fs.StringVar(&o.SigningKeySecret, "signing-key-secret", "skyport-signing-key", "--backend aws: the Secrets Manager secret (name or ARN; the stack's SigningKey secret) holding the publisher's signing key")
	fs.BoolVar(&o.Create, "create", false, "--backend aws: create the tables, the bucket and the signing-key secret if absent")
	fs.StringVar(&o.AdminToken, "admin-token", "", "Admin API token (Authorization: Bearer or Kong-Admin-Token); required unless --admin-listen is loopback")
	fs.StringVar(&o.ClusterToken, "cluster-token", "", "token data planes present (skyport dp --cp-token); required unless --cluster-listen is loopback")
	fs.StringVar(&o.ClusterAdvertise, "cluster-advertise", "", "host:port data planes dial to reach --cluster-listen, used in snapshot download URLs (default: the listen address; required when it is 0.0.0.0 or ::)")
	fs.StringVar(&o.ClusterCert, "cluster-cert", "", "PEM certificate (chain) of the cluster listener: data planes connect with wss:// (skyport dp --cp-ca trusts it)")
	fs.StringVar(&o.ClusterCertKey, "cluster-cert-key", "", "PEM file of --cluster-cert's key")
	fs.IntVar(&o.ClusterMaxNodes, "cluster-max-nodes", cluster.DefaultNodeLimit, "data-plane rows the cluster token may create (a node unseen for 15 minutes gives its place up)")
	fs.IntVar(&o.HistoryMaxRevisions, "history-max-revisions", history.DefaultRetentionRevisions, "configuration history: revisions kept (older ones answer 410)")
	fs.DurationVar(&o.HistoryMaxAge, "history-max-age", history.DefaultRetentionAge, "configuration history: how long a revision is kept (older ones answer 410)")
	fs.IntVar(&o.FullEvery, "full-every", publisher.DefaultFullEvery, fmt.Sprintf("publisher: a full snapshot at least every N publications, deltas chained between (1 to %d; 1 seals every revision whole)", snapshot.MaxChain+1))
	fs.Float64Var(&o.FullRatio, "full-ratio", publisher.DefaultFullRatio, "publisher: a full snapshot when the chain's deltas would weigh more than this fraction of the last one")
	fs.DurationVar(&o.FullMaxAge, "full-max-age", publisher.DefaultFullMaxAge, "publisher: a full snapshot when the last one is older than this")
	fs.StringVar(&o.MemoryLimit, "memory-limit", "auto", "soft memory limit of the process (Go's collector works harder near it, never refuses memory): a size such as 768m or 2g, 0 for none, or auto: 768m, plus 768m with the built-in data plane; GOMEMLIMIT, when set, wins")
	fs.StringVar(&o.RolloutPolicy, "rollout-policy", "", "a JSON file: the staged rollout's policy (waves, halt conditions) when none is set with PUT /config/rollout-policy")
	fs.StringVar(&o.dp.ProxyListen, "proxy-listen", "0.0.0.0:8000", "built-in data plane: HTTP proxy listen address")
	fs.StringVar(&o.dp.ProxyTLSListen, "proxy-tls-listen", "0.0.0.0:8443", "built-in data plane: HTTPS proxy listen address (empty disables)")
	fs.StringVar(&o.dp.StatusListen, "status-listen", "127.0.0.1:8100", "built-in data plane: status API listen address (0.0.0.0:8100 lets other hosts in)")
	fs.BoolVar(&o.dp.ProxyCacheAPI, "proxy-cache-api", false, "built-in data plane: serve proxy-cache's Admin API routes (/proxy-cache) on --status-listen")
	fs.StringVar(&o.dp.Labels, "labels", "", "built-in data plane: labels reported to the control plane, k:v,k:v")
	fs.BoolVar(&o.dp.AdoptCluster, "adopt-cluster", false, "built-in data plane: follow this control plane even though its cache (--data-dir/dp) holds another cluster's configuration")
	fs.DurationVar(&o.dp.DrainTimeout, "drain-timeout", 5*time.Second, "how long shutdown waits for requests in flight")
	registerAccessLog(fs, &o.dp.AccessLog)
	registerEventLoop(fs, &o.dp.EventLoop)
	o.dp.limitFlags.register(fs)
	o.log.register(fs)
}

// check refuses a malformed listen address, then settings that would
// expose an open API.
func (o *localOptions) check() error {
	if err := o.checkAddresses(); err != nil {
		return err
	}
	if err := o.log.check(); err != nil {
		return err
	}
	if err := checkAccessLog(o.dp.AccessLog); err != nil {
		return err
	}
	if err := proxy.ParseEventLoop(o.dp.EventLoop); err != nil {
		return fmt.Errorf("--event-loop: %w", err)
	}
	switch {
	case o.Backend != "embedded" && o.Backend != "aws":
		return fmt.Errorf("--backend %q: want embedded or aws", o.Backend)
	case o.AdminToken == "" && !isLoopback(o.AdminListen):
		return fmt.Errorf("--admin-listen %s is not a loopback address: set --admin-token (or SKYPORT_ADMIN_TOKEN)", o.AdminListen)
	case o.HistoryMaxRevisions < 1:
		return fmt.Errorf("--history-max-revisions %d: want 1 or more", o.HistoryMaxRevisions)
	case o.HistoryMaxAge <= 0:
		return fmt.Errorf("--history-max-age %s: want a positive duration", o.HistoryMaxAge)
	case publisher.CheckFullEvery(o.FullEvery) != nil:
		return fmt.Errorf("--full-every %d: %w", o.FullEvery, publisher.CheckFullEvery(o.FullEvery))
	case publisher.CheckFullRatio(o.FullRatio) != nil:
		return fmt.Errorf("--full-ratio %g: %w", o.FullRatio, publisher.CheckFullRatio(o.FullRatio))
	case publisher.CheckFullMaxAge(o.FullMaxAge) != nil:
		return fmt.Errorf("--full-max-age %s: %w", o.FullMaxAge, publisher.CheckFullMaxAge(o.FullMaxAge))
	case o.ClusterToken == "" && !isLoopback(o.ClusterListen):
		return fmt.Errorf("--cluster-listen %s is not a loopback address: set --cluster-token (or SKYPORT_CLUSTER_TOKEN)", o.ClusterListen)
	}
	if _, err := o.memoryLimit(); err != nil {
		return err
	}
	return o.checkCluster()
}

// checkAddresses refuses a listen address that is not host:port (the
// HTTPS proxy's may be empty: disabled).
func (o *localOptions) checkAddresses() error {
	for _, a := range []struct{ flag, addr string }{
		{"admin-listen", o.AdminListen}, {"cluster-listen", o.ClusterListen},
		{"proxy-listen", o.dp.ProxyListen}, {"proxy-tls-listen", o.dp.ProxyTLSListen}, {"status-listen", o.dp.StatusListen},
	} {
		if a.flag == "proxy-tls-listen" && a.addr == "" {
			continue
		}
		if err := checkListen(a.addr); err != nil {
			return fmt.Errorf("--%s %q: %w", a.flag, a.addr, err)
		}
	}
	return nil
}

// checkListen checks that addr is host:port with a port number (host may
// be empty: every interface).
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("want host:port: bad port %q", port)
	}
	return nil
}

// isLoopback reports whether a listen address only accepts local clients.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runLocal implements "skyport local": the control plane (Admin API,
// publisher, WebSocket hub) and a data plane in one process.
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o localOptions
	fs := flag.NewFlagSet("skyport local", flag.ContinueOnError)
	o.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("resolving --data-dir: %w", err)
	}
	o.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("creating --data-dir: %w", err)
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	o.dp.logFormat = o.log.format(stderr)
	log := o.log.logger(stderr)
	limit, _ := o.memoryLimit() // checked above
	setMemoryLimit(limit, log)
	return serveLocal(ctx, &o, stdout, log)
}

// serveLocal composes and runs everything until ctx is done, then stops
// it all: listeners closed, WebSockets closed, goroutines joined, store
// closed.
func serveLocal(ctx context.Context, o *localOptions, stdout io.Writer, log *slog.Logger) error {
	adminLn, err := net.Listen("tcp", o.AdminListen)
	if err != nil {
		return fmt.Errorf("listening for the Admin API on %s: %w", o.AdminListen, err)
	}
	defer adminLn.Close()
	clusterLn, err := net.Listen("tcp", o.ClusterListen)
	if err != nil {
		return fmt.Errorf("listening for the WebSocket hub on %s: %w", o.ClusterListen, err)
	}
	defer clusterLn.Close()

	cl, err := newClusterListener(o, clusterLn)
	if err != nil {
		return err
	}
	lq := logqueue.NewMetrics()
	reg := plugins.RegistryWith(plugins.Options{LogQueues: lq, Log: log.With("component", "log-plugins")})
	cp, err := buildControlPlane(ctx, o, cl, reg.Names(), log)
	if err != nil {
		return err
	}
	defer cp.close(log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			errOnce.Do(func() { firstErr = err })
			cancel()
		}
	}
	adminSrv := &http.Server{Handler: cp.admin, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(log)}
	hubSrv := &http.Server{Handler: cp.cluster, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(log)}
	for name, s := range map[string]struct {
		srv *http.Server
		ln  net.Listener
	}{"admin": {adminSrv, adminLn}, "cluster": {hubSrv, cl.listener}} {
		log.Info("listening", "listener", name, "addr", s.ln.Addr().String())
		wg.Go(func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				fail(fmt.Errorf("serving %s: %w", name, err))
			}
		})
	}
	wg.Go(func() { fail(cp.run(ctx)) })
	var dpAddrs []boundAddr
	if o.DP {
		dpo := builtinDP(o, cl, cp.fallbackURL, cp.verifyKey)
		dpo.collectors = append(dpo.collectors, lq)
		dpo.collectors = append(dpo.collectors, cp.collectors...)
		bound := make(chan []boundAddr, 1)
		dpo.bound = func(a []boundAddr) { bound <- a }
		dpReg, closePlugins, err := dataPlanePlugins(ctx, &dpo, plugins.Options{LogQueues: lq}, log.With("component", "dp"))
		if err != nil {
			return err
		}
		defer closePlugins()
		wg.Go(func() {
			if err := runDataPlane(ctx, &dpo, dpReg, log.With("component", "dp")); err != nil {
				fail(fmt.Errorf("built-in data plane: %w", err))
			}
		})
		select {
		case dpAddrs = <-bound:
		case <-ctx.Done():
		}
	}
	if ctx.Err() == nil {
		printNextSteps(stdout, o, dialable(adminLn.Addr()), cl, cp.fallbackURL, dpAddrs)
	}

	<-ctx.Done()
	log.Info("shutting down")
	cp.hub.Close()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	for _, s := range []*http.Server{adminSrv, hubSrv} {
		if err := s.Shutdown(sctx); err != nil {
			s.Close()
		}
	}
	wg.Wait()
	log.Info("stopped")
	return firstErr
}

// dialable turns a listener's address into one a local client can dial:
// an unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func dialable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// builtinDP returns the settings of the data plane that runs in-process:
// it dials the cluster listener as remote data planes do, over loopback,
// and verifies with the backend's verify keys.
func builtinDP(o *localOptions, cl *clusterListener, fallbackURL string, verify ed25519.PublicKey) dpOptions {
	dpo := o.dp
	dpo.CPURL = cl.wsURL()
	dpo.cpClient = cl.client()
	dpo.CPAuth = "token"
	dpo.CPToken = o.ClusterToken
	dpo.FallbackURL = fallbackURL
	dpo.VerifyKey = keygen.JoinKeys(snapshot.RingKeys(verify))
	dpo.CacheDir = filepath.Join(o.DataDir, "dp")
	dpo.LatencyHeaders = true
	dpo.RequestIDHeaders = true
	dpo.FallbackPoll = 30 * time.Second
	dpo.ReportInterval = dpsync.DefaultReportInterval
	return dpo
}

// printNextSteps tells a new user what to try, once every listener is
// bound: dp holds the built-in data plane's bound addresses.
func printNextSteps(w io.Writer, o *localOptions, adminAddr string, cl *clusterListener, fallbackURL string, dp []boundAddr) {
	bound := map[string]string{}
	for _, a := range dp {
		bound[a.name] = dialable(tcpAddr(a.addr))
	}
	auth := ""
	if o.AdminToken != "" {
		auth = ` -H "Kong-Admin-Token: $SKYPORT_ADMIN_TOKEN"`
	}
	admin := "http://" + adminAddr
	fmt.Fprintf(w, "\nSkyport is running (backend %s, state in %s).\n\n", o.Backend, o.DataDir)
	fmt.Fprintf(w, "  Admin API:  %s\n  WebSocket:  %s\n", admin, cl.wsURL())
	if o.DP {
		fmt.Fprintf(w, "  Proxy:      http://%s", bound["proxy"])
		if tls, ok := bound["proxy-tls"]; ok {
			fmt.Fprintf(w, "   https://%s", tls)
		}
		fmt.Fprintf(w, "\n  Status:     http://%s/status\n", bound["status"])
	}
	fmt.Fprintf(w, "\nTry (the route answers by itself with the request-termination plugin, so no upstream is needed):\n")
	fmt.Fprintf(w, "  curl -s%s %s/services -d name=example -d url=http://upstream.invalid\n", auth, admin)
	fmt.Fprintf(w, "  curl -s%s %s/services/example/routes -d name=example-route -d paths[]=/example\n", auth, admin)
	fmt.Fprintf(w, "  rev=$(curl -s%s -o /dev/null -w '%%header{x-skyport-revision}' %s/routes/example-route/plugins -d name=request-termination -d config.status_code=200 -d config.message=hello)\n", auth, admin)
	if o.DP {
		fmt.Fprintf(w, "  skyport wait --revision \"$rev\" --status-url http://%s\n", bound["status"])
		fmt.Fprintf(w, "  curl -i http://%s/example\n", bound["proxy"])
	}
	fmt.Fprintf(w, "  curl -s%s %s/clustering/data-planes\n", auth, admin)
	token := ""
	if o.ClusterToken != "" {
		token = " --cp-token $SKYPORT_CLUSTER_TOKEN"
	}
	if o.ClusterCert != "" {
		token += " --cp-ca " + o.ClusterCert
	}
	fmt.Fprintf(w, "\nJoin another data plane:\n  skyport dp --cp-url %s%s --fallback-url %s --verify-key %s --cache-dir ~/.cache/skyport/dp2 --proxy-listen 127.0.0.1:9000 --proxy-tls-listen '' --status-listen 127.0.0.1:9100\n\n",
		cl.wsURL(), token, fallbackURL, filepath.Join(o.DataDir, verifyKeyFile))
}

// tcpAddr is a bound address as a net.Addr.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }
