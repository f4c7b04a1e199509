package scale_test

import (
	"bytes"
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
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/bench/scale"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/hub"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/rollout"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

var dataPlanes = flag.Int("scale.dps", 2, "data planes BenchmarkWriteServed runs")

var servedProfile = flag.String("scale.served-cpuprofile", "", "BenchmarkWriteServed: write a CPU profile of the writes alone (the load and the data planes' joining left out) to this file")

var joinWithin = flag.Duration("scale.join-within", 30*time.Minute, "BenchmarkWriteServed: how long the data planes may take to serve the configuration first (a hang guard)")

// polls counts the requests the data planes were polled with.
var polls atomic.Int64

// servedHeader marks the benchmark upstream's answers: a 200 with it came
// through the route written, not from anything else.
const servedHeader = "X-Bench-Upstream"

// BenchmarkWriteServed is the whole of one route write, as `skyport
// local` runs it with data planes joined: the embedded store holding a
// generated configuration behind the Admin API (served over loopback),
// the publisher driven by the store's commits (publisher.Runner, the
// default pacing), history and the staged rollout as the command wires
// them, the WebSocket hub with the cluster routes on a loopback listener,
// in-process notices, and -scale.dps data planes (dataplane/sync feeding
// dataplane/proxy, each proxy on its own loopback listener) that connect
// to the hub, take notices and fetch deltas over HTTP from the cluster
// listener. An upstream answers for the route written.
//
// Each iteration PATCHes the route's paths to a new one through the
// Admin API, then polls every data plane (a GET every millisecond) until
// each answers 200 from the upstream on the new path. p50-ms and p90-ms
// are write → served by the last data plane (wall); cpu-ms/write is the
// process's CPU per write, every part included (store, publisher, hub,
// data planes, upstream, the polling client). The stages' medians say
// where the wall time goes: commit-p50-ms (the PATCH answered),
// publish-p50-ms (commit → first notice posted: the publisher's read,
// check, seal, pointer), fetch-p50-ms (notice posted → the data plane's
// apply starts: the notice's delivery, the delta's download, verify,
// decode and apply to the running configuration), apply-p50-ms (the
// proxy's compile and swap: until its apply returns, or the poll's 200
// when that came first), seen-p50-ms (→ the poll's 200: the polling
// interval and the request). The stages are the slowest data plane's.
// max-ms is the slowest write (at 1M, the one whose publication seals
// the scheduled full snapshot), polls/write the polling's requests,
// join-s how long the data planes took to serve the configuration first
// (a full snapshot each). Writes are spaced by more than the publisher's
// pacing interval, so none waits for it: this is one write, not a storm.
func BenchmarkWriteServed(b *testing.B) {
	if *dataPlanes < 1 {
		b.Fatalf("-scale.dps %d: want 1 or more", *dataPlanes)
	}
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d/dps=%d", n, *dataPlanes), func(b *testing.B) {
			benchWriteServed(b, n, *dataPlanes)
		})
	}
}

func benchWriteServed(b *testing.B, n, dps int) {
	ctx, cancel := context.WithCancel(context.Background())
	h, st := newAdmin(b)
	load(b, h, document(b, n, scale.JSON))
	cp := startServedCP(ctx, b, st)
	adminURL := "http://" + serveHTTP(b, h)
	upstream := "http://" + serveHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(servedHeader, "1")
		_, _ = io.WriteString(w, "served\n")
	}))
	planes := make([]*servedDP, dps)
	for i := range planes {
		planes[i] = startServedDP(ctx, b, cp)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for _, dp := range planes {
		wg.Go(func() { dp.run(ctx) })
	}

	adminDo(b, adminURL, http.MethodPost, "/services", `{"name":"served","url":"`+upstream+`"}`)
	adminDo(b, adminURL, http.MethodPost, "/services/served/routes", `{"name":"served","paths":["/served/start"]}`)
	// The data planes take the configuration whole on connecting: at a
	// million entities that is minutes on a loaded machine.
	joined := time.Now()
	waitServed(ctx, b, planes, "/served/start", *joinWithin)
	joinTime := time.Since(joined)
	polls.Store(0)

	var (
		total, commits, pubs, fetches, applies, seens []time.Duration
		cpu                                           time.Duration
		last                                          time.Time
		worst                                         struct {
			took   time.Duration
			stages string
		}
	)
	if *servedProfile != "" {
		f, err := os.Create(*servedProfile)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	for i := 0; b.Loop(); i++ {
		// Past the publisher's pacing interval since the last write, so
		// the publication starts at once.
		time.Sleep(time.Until(last.Add(publisher.DefaultMinInterval + 50*time.Millisecond)))
		path := "/served/" + strconv.Itoa(i)
		cp.notified.Store(0)
		for _, dp := range planes {
			dp.reset()
		}
		before := cputime.Process()
		start := time.Now()
		last = start
		adminDo(b, adminURL, http.MethodPatch, "/routes/served", `{"paths":["`+path+`"]}`)
		committed := time.Now()
		served := waitServed(ctx, b, planes, path, time.Minute)
		cpu += cputime.Process() - before
		slowest := slices.IndexFunc(served, func(t time.Time) bool { return t.Equal(slices.MaxFunc(served, time.Time.Compare)) })
		dp := planes[slowest]
		// The proxy serves the new configuration from its swap, a little
		// before its apply returns: the apply ends at whichever came
		// first.
		select {
		case <-dp.applied:
		case <-time.After(10 * time.Second): // a hang guard: the check below says what is missing
		}
		if cp.notified.Load() == 0 || dp.applyStart.Load() == 0 || dp.applyEnd.Load() == 0 {
			b.Fatalf("write %d served without a notice (%d) or an apply (%d, %d)", i, cp.notified.Load(), dp.applyStart.Load(), dp.applyEnd.Load())
		}
		notified := time.Unix(0, cp.notified.Load())
		applyStart := time.Unix(0, dp.applyStart.Load())
		applyEnd := slices.MinFunc([]time.Time{time.Unix(0, dp.applyEnd.Load()), served[slowest]}, time.Time.Compare)
		total = append(total, served[slowest].Sub(start))
		commits = append(commits, committed.Sub(start))
		pubs = append(pubs, notified.Sub(committed))
		fetches = append(fetches, applyStart.Sub(notified))
		applies = append(applies, applyEnd.Sub(applyStart))
		seens = append(seens, served[slowest].Sub(applyEnd))
		stages := fmt.Sprintf("write %d: served in %s (commit %s, publish %s, fetch %s, apply %s, seen %s)", i, total[i],
			commits[i], pubs[i], fetches[i], applies[i], seens[i])
		if total[i] > worst.took {
			worst.took, worst.stages = total[i], stages
		}
		if i < 5 {
			b.Log(stages)
		}
	}
	b.Logf("the slowest: %s", worst.stages)
	b.ReportMetric(joinTime.Seconds(), "join-s")
	b.ReportMetric(float64(slices.Max(total).Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(polls.Load())/float64(len(total)), "polls/write")
	b.ReportMetric(median(slices.Clone(total)), "p50-ms")
	b.ReportMetric(percentile(total, 90), "p90-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(total)), "cpu-ms/write")
	b.ReportMetric(median(commits), "commit-p50-ms")
	b.ReportMetric(median(pubs), "publish-p50-ms")
	b.ReportMetric(median(fetches), "fetch-p50-ms")
	b.ReportMetric(median(applies), "apply-p50-ms")
	b.ReportMetric(median(seens), "seen-p50-ms")
}

// percentile returns the p-th percentile of ds in milliseconds.
func percentile(ds []time.Duration, p int) float64 {
	slices.Sort(ds)
	i := min(len(ds)-1, (len(ds)*p+99)/100-1)
	return float64(ds[max(i, 0)].Microseconds()) / 1000
}

// servedCP is the control plane of BenchmarkWriteServed, running.
type servedCP struct {
	// addr is the cluster listener's host:port.
	addr   string
	verify ed25519.PublicKey
	// objects is the snapshot directory, the data planes' fallback.
	objects objstore.Store
	// notified is when the first notice since it was zeroed was posted
	// (unix nanoseconds).
	notified atomic.Int64
}

// startServedCP composes the control plane around st as `skyport local`
// does with its embedded backend (cmd/skyport, buildControlPlane) and
// runs it until ctx is done. The Admin API is the caller's.
func startServedCP(ctx context.Context, b *testing.B, st *embedded.Store) *servedCP {
	objects, err := objstore.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	verify, key, err := snapshot.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	cp := &servedCP{verify: verify, objects: objects}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cp.addr = ln.Addr().String()
	presigner := &dirPresigner{base: "http://" + cp.addr, objects: objects}
	notifier := &servedNotifier{cp: cp}
	registry := cluster.NewMemory(nil)
	hist := history.New(objects, history.Retention{Revisions: history.DefaultRetentionRevisions, Age: history.DefaultRetentionAge}, nil)
	rollouts := rollout.New(rollout.Options{Objects: objects, History: hist, Nodes: registry,
		Restorer: rollout.StoreRestorer(st), Logger: quiet})
	pub := publisher.New(publisher.Options{
		Source: st, Objects: objects, Key: key, Notifier: notifier,
		Connections: registry, Presigner: presigner, History: hist, PruneHistory: true,
		Validator: preflight.New(), Rollout: rollouts, Logger: quiet,
		MinInterval: publisher.DefaultMinInterval,
	})
	runner := publisher.NewRunner(pub)
	st.OnCommit(func(int64) { runner.Kick() })
	handler := cluster.NewHandler(cluster.HandlerOptions{
		Registry: registry, Objects: objects, Notifier: notifier, Presigner: presigner, Logger: quiet,
	})
	routes := map[string]hub.Handler{}
	for _, k := range []string{hub.RouteConnect, hub.RouteDisconnect, hub.RouteDefault, protocol.ActionHello, protocol.ActionStatus} {
		routes[k] = handler.Handle
	}
	notifier.hub = hub.New(hub.Options{Routes: routes, Logger: quiet})
	mux := http.NewServeMux()
	mux.Handle(presignPath, presigner)
	mux.Handle("/", notifier.hub)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// The runner stops with the benchmark even when it fails before its
	// caller's cleanup, which cancels ctx, is registered.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	wg.Go(func() { _ = runner.Run(ctx) })
	b.Cleanup(func() {
		cancel()
		notifier.hub.Close()
		_ = srv.Close()
		wg.Wait()
	})
	return cp
}

// servedNotifier posts notices to the hub's connections in process, as
// `skyport local` does, and notes when the first one went out.
type servedNotifier struct {
	hub *hub.Hub
	cp  *servedCP
}

var _ cluster.Notifier = (*servedNotifier)(nil)

func (n *servedNotifier) Post(ctx context.Context, connectionID string, payload []byte) error {
	n.cp.notified.CompareAndSwap(0, time.Now().UnixNano())
	err := n.hub.Post(ctx, connectionID, payload)
	if errors.Is(err, hub.ErrGone) {
		return fmt.Errorf("%w: %w", cluster.ErrGone, err)
	}
	return err
}

// presignPath is where the cluster listener serves snapshots and deltas.
const presignPath = "/_snapshots/"

// dirPresigner hands out URLs of the snapshot directory on the cluster
// listener and serves them, as `skyport local`'s presigner does, less its
// expiring HMAC signature: the data planes download every delta over
// HTTP from the control plane, as they do from S3 in AWS.
type dirPresigner struct {
	base    string
	objects objstore.Store
}

var _ objstore.Presigner = (*dirPresigner)(nil)

func (p *dirPresigner) PresignGet(_ context.Context, key string, _ time.Duration) (string, error) {
	return p.base + presignPath + key, nil
}

func (p *dirPresigner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, presignPath)
	if !strings.HasPrefix(key, "snapshots/") && !strings.HasPrefix(key, "deltas/") {
		http.Error(w, "not a snapshot", http.StatusForbidden)
		return
	}
	data, _, err := objstore.GetMax(r.Context(), p.objects, key, snapshot.MaxStored)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// servedDP is a data plane as `skyport dp` composes it (cmd/skyport,
// runDataPlane): the proxy on a loopback listener, fed by the sync
// client connected to the control plane, with its cache on disk and the
// snapshot directory as its fallback (the built-in data plane's).
type servedDP struct {
	*proxy.Server
	addr   string
	client *dpsync.Client
	front  *proxy.Frontend
	ln     net.Listener
	// applyStart and applyEnd are when the first apply since the last
	// reset started and ended (unix nanoseconds).
	applyStart, applyEnd atomic.Int64
	// applied is signaled when applyEnd is set.
	applied chan struct{}
	// poll is the data plane's own keep-alive client.
	poll *http.Client
}

var _ dpsync.HashedApplier = (*servedDP)(nil)

func startServedDP(ctx context.Context, b *testing.B, cp *servedCP) *servedDP {
	px := proxy.New(proxy.Options{Registry: plugins.Registry(), Log: slog.New(slog.DiscardHandler)})
	b.Cleanup(px.Close)
	dir := b.TempDir()
	node, err := cache.NodeID(dir)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	// Closed here too: a benchmark that fails before run (this data
	// plane's sync client, or a later one's start) leaks it otherwise.
	// Closed twice after run, which ignores the second close's error.
	b.Cleanup(func() { _ = ln.Close() })
	dp := &servedDP{Server: px, addr: ln.Addr().String(), ln: ln, front: px.Frontend(px),
		poll: &http.Client{Timeout: 10 * time.Second}, applied: make(chan struct{}, 1)}
	dp.client, err = dpsync.New(dpsync.Config{
		CPURL: "ws://" + cp.addr, Auth: dpsync.Bearer(""), VerifyKey: cp.verify,
		Fallback: cp.objects, Cache: cache.New(dir, cp.verify),
		NodeID: node, Hostname: "bench", Version: "bench", Plugins: px.Plugins(),
		FallbackPoll: 30 * time.Second, ReportInterval: dpsync.DefaultReportInterval,
		Log: slog.New(slog.DiscardHandler),
	}, dp)
	if err != nil {
		b.Fatal(err)
	}
	return dp
}

// run serves the proxy and runs the sync client until ctx is done.
func (dp *servedDP) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = dp.front.Serve(dp.ln) })
	wg.Go(func() { dp.client.Run(ctx) })
	<-ctx.Done()
	_ = dp.front.Close()
	wg.Wait()
}

func (dp *servedDP) reset() {
	select { // before applyEnd is cleared, while no apply can signal
	case <-dp.applied:
	default:
	}
	dp.applyStart.Store(0)
	dp.applyEnd.Store(0)
}

// timed runs an apply, keeping when the first since the last reset
// started and ended.
func (dp *servedDP) timed(apply func() error) error {
	dp.applyStart.CompareAndSwap(0, time.Now().UnixNano())
	err := apply()
	if dp.applyEnd.CompareAndSwap(0, time.Now().UnixNano()) {
		dp.applied <- struct{}{} // room for one: reset empties it
	}
	return err
}

// Apply implements dpsync.Applier.
func (dp *servedDP) Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error {
	return dp.timed(func() error { return dp.Server.Apply(ctx, cfg, revision, source) })
}

// ApplyHashed implements dpsync.HashedApplier.
func (dp *servedDP) ApplyHashed(ctx context.Context, cfg *model.Config, hash string, revision int64, source string) error {
	return dp.timed(func() error { return dp.Server.ApplyHashed(ctx, cfg, hash, revision, source) })
}

// serves reports whether the data plane answers path from the upstream.
func (dp *servedDP) serves(ctx context.Context, path string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+dp.addr+path, nil)
	if err != nil {
		return false, err
	}
	// The generated configuration's global key-auth asks every request
	// for a key: the first consumer's.
	req.Header.Set("apikey", "key-0000000000000000")
	polls.Add(1)
	resp, err := dp.poll.Do(req)
	if err != nil {
		return false, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get(servedHeader) == "" {
		return false, fmt.Errorf("answered %d %.200q", resp.StatusCode, body)
	}
	return true, nil
}

// waitServed polls every data plane each millisecond until each serves
// path, and returns when each first did; within is a hang guard.
func waitServed(ctx context.Context, b *testing.B, planes []*servedDP, path string, within time.Duration) []time.Time {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	served := make([]time.Time, len(planes))
	errs := make([]error, len(planes))
	var wg sync.WaitGroup
	for i, dp := range planes {
		wg.Go(func() {
			var last error
			for {
				ok, err := dp.serves(ctx, path)
				if ok {
					served[i] = time.Now()
					return
				}
				if ctx.Err() != nil {
					errs[i] = fmt.Errorf("data plane %d never served %s: %w (last: %w)", i, path, ctx.Err(), last)
					return
				}
				last = err
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return served
}

// serveHTTP serves h on a loopback listener until the benchmark ends and
// returns its address.
func serveHTTP(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	b.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// adminDo sends body (JSON) to the Admin API and fails unless it answers
// 2xx.
func adminDo(b *testing.B, base, method, path, body string) {
	req, err := http.NewRequest(method, base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		b.Fatalf("%s %s: %d %.300s", method, path, resp.StatusCode, msg)
	}
}
