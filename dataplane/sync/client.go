package sync

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
)

// Applier is the proxy as the sync client sees it.
type Applier interface {
	// Apply compiles cfg completely and swaps it in; on error the running
	// configuration is untouched.
	Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error
	// Current returns the running revision and config hash.
	Current() (revision int64, hash string)
}

// HashedApplier is an Applier that takes the configuration's hash
// (snapshot.ConfigHash) from the client, which knows it, instead of
// computing it again: the client keeps the running configuration's
// digest and updates it with a delta's entities, where hashing the whole
// configuration would cost its size.
type HashedApplier interface {
	Applier
	// ApplyHashed is Apply with cfg's hash given.
	ApplyHashed(ctx context.Context, cfg *model.Config, hash string, revision int64, source string) error
}

// Sources of a running configuration, as passed to Apply and reported.
const (
	SourceCache    = "cache"
	SourceCP       = "cp"
	SourceFallback = "fallback"
)

// DefaultFallbackPoll is how often the fallback is polled while the control
// plane is unreachable.
const DefaultFallbackPoll = 30 * time.Second

// DefaultReportInterval and ReportWindow: for ReportWindow after an apply,
// status is sent every ReportInterval besides the heartbeat.
const (
	DefaultReportInterval = 10 * time.Second
	ReportWindow          = 10 * time.Minute
)

// ErrNoVerifyKey reports a client configured without the publisher's key.
var ErrNoVerifyKey = errors.New("a verify key is required")

// Config is what a Client needs; only VerifyKey is required.
type Config struct {
	// CPURL is the control plane's WebSocket URL; empty runs without one.
	CPURL string
	// Auth adds credentials to the WebSocket upgrade; nil sends none.
	Auth Auth
	// Fallback is the object store read when the control plane is
	// unreachable, and for notices that carry no URL; nil for none.
	Fallback objstore.Store
	// Cache is the last known good snapshot on disk; nil for none.
	Cache *cache.Cache
	// VerifyKey is the publisher's public key, or several (snapshot.KeyRing)
	// while it rotates.
	VerifyKey ed25519.PublicKey
	// AdoptCluster allows following a control plane of another cluster
	// than the one the running configuration (or the cache) belongs to;
	// without it such snapshots are refused, loudly.
	AdoptCluster bool
	// NodeID, Hostname, Version, Labels and Plugins identify the data
	// plane in its hello.
	NodeID   string
	Hostname string
	Version  string
	Labels   map[string]string
	Plugins  []string
	// Traffic, when set, returns the requests proxied and those answered
	// 5xx since the data plane started; status messages report both as
	// counted since the running revision was applied.
	Traffic func() (requests, errors5xx int64)
	// ReportInterval is how often status is sent in the ReportWindow after
	// an apply, so a staged rollout sees the new revision's error ratio
	// while it bakes (a report that would repeat the last status sent is
	// skipped); default DefaultReportInterval.
	ReportInterval time.Duration
	// FallbackPoll is the fallback's polling interval (jittered ±20%);
	// default DefaultFallbackPoll.
	FallbackPoll time.Duration
	// Heartbeat is the interval of status heartbeats; default
	// backoff.DefaultHeartbeat.
	Heartbeat time.Duration
	// Lifetime is how long a connection lives before a planned reconnect
	// (shortened by up to 10% at random); default backoff.DefaultLifetime.
	Lifetime time.Duration
	// Backoff paces reconnects after failures; default backoff.Default.
	Backoff backoff.Policy
	// Health, when set, gives the targets' health each status reports
	// (at most protocol.MaxHealth are sent).
	Health func() []protocol.TargetHealth
	// HTTPClient dials the control plane and downloads presigned URLs;
	// default one with a two-minute timeout.
	HTTPClient *http.Client
	// Decoder verifies and decodes fetched snapshots and deltas; default
	// Standard.
	Decoder Decoder
	// Log receives the client's events; default slog.Default().
	Log *slog.Logger
}

// Client is a data plane's sync client. It implements status.SyncReporter.
type Client struct {
	cfg     Config
	applier Applier
	log     *slog.Logger
	state   state
	ident   identity
	queue   queue
	run     running
	// conn is the live control plane connection, nil when there is none.
	conn atomic.Pointer[websocket.Conn]
	// down is signalled when the control plane becomes unreachable, so the
	// fallback is polled at once.
	down chan struct{}
	// baseline is the traffic counted when the running revision was
	// applied, and appliedAt when (unix nanoseconds).
	baseRequests, baseErrors, appliedAt atomic.Int64
	// reports is signalled on an apply, so the heartbeat schedule takes
	// the reports after it into account at once.
	reports chan struct{}
	// lastStatus is the last status message sent; a report in the
	// ReportWindow that would repeat it is not sent.
	lastStatus atomic.Pointer[protocol.Status]
}

var _ status.SyncReporter = (*Client)(nil)

// New returns a client feeding a; Run starts it.
func New(cfg Config, a Applier) (*Client, error) {
	if len(cfg.VerifyKey) == 0 || len(cfg.VerifyKey)%ed25519.PublicKeySize != 0 {
		return nil, ErrNoVerifyKey
	}
	if cfg.FallbackPoll <= 0 {
		cfg.FallbackPoll = DefaultFallbackPoll
	}
	if cfg.Backoff == (backoff.Policy{}) {
		cfg.Backoff = backoff.Default
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Decoder == nil {
		cfg.Decoder = Standard{}
	}
	c := &Client{
		cfg:     cfg,
		applier: a,
		log:     cfg.Log,
		queue:   newQueue(),
		down:    make(chan struct{}, 1),
		reports: make(chan struct{}, 1),
	}
	c.state.s.CP = cpDisabled
	if cfg.CPURL != "" {
		c.state.s.CP = cpConnecting
	}
	return c, nil
}

// SyncState reports the connection state and the last sync outcome.
func (c *Client) SyncState() status.SyncState { return c.state.get() }

// Run boots from the cache, then keeps the configuration in sync until ctx
// is done: the control plane connection, the fallback poller and the
// applier each run in a goroutine that Run waits for.
func (c *Client) Run(ctx context.Context) {
	c.guard(ctx, "boot", c.boot)
	var wg stdsync.WaitGroup
	wg.Go(func() { c.loop(ctx, "apply", c.runApplier) })
	if c.cfg.CPURL != "" {
		wg.Go(func() { c.loop(ctx, "control plane", c.runCP) })
	}
	if c.cfg.Fallback != nil {
		wg.Go(func() { c.loop(ctx, "fallback", c.runFallback) })
	}
	wg.Wait()
}

// loop runs fn until ctx is done, recovering and logging a panic and
// starting fn again after a pause.
func (c *Client) loop(ctx context.Context, name string, fn func(context.Context)) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if !c.guard(ctx, name, fn) {
			return
		}
		if !sleep(ctx, c.cfg.Backoff.Delay(attempt, nil)) {
			return
		}
	}
}

// guard runs fn and reports whether it panicked.
func (c *Client) guard(ctx context.Context, name string, fn func(context.Context)) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("sync loop panicked; restarting", "loop", name, "panic", r)
			panicked = true
		}
	}()
	fn(ctx)
	return false
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
