// Package ratelimiting is Kong's rate-limiting plugin: fixed windows per
// second, minute, hour, day, month and year, keyed by consumer,
// credential, client IP, service, a header or a path, counted in memory
// on each data plane (the local policy) or in a store the fleet shares
// (redis, and Skyport's cluster policy).
package ratelimiting

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
)

// emptyUUID stands for a plugin not scoped on a route or service in
// shared counter keys, as in Kong.
const emptyUUID = "00000000-0000-0000-0000-000000000000"

// Name is the plugin's name.
const Name = "rate-limiting"

// Kong's IETF draft headers, for the most restrictive window.
const (
	HeaderLimit     = "Ratelimit-Limit"
	HeaderRemaining = "Ratelimit-Remaining"
	HeaderReset     = "Ratelimit-Reset"
	HeaderRetry     = "Retry-After"
)

// Config is rate-limiting's configuration.
type Config struct {
	// Second … Year are the request limits per window; nil for none.
	Second *float64 `json:"second"`
	Minute *float64 `json:"minute"`
	Hour   *float64 `json:"hour"`
	Day    *float64 `json:"day"`
	Month  *float64 `json:"month"`
	Year   *float64 `json:"year"`
	// LimitBy is consumer (default), credential, ip, service, header or
	// path; HeaderName and Path complete header and path.
	LimitBy    string `json:"limit_by"`
	HeaderName string `json:"header_name"`
	Path       string `json:"path"`
	// Policy is local, redis or cluster; Redis configures redis.
	Policy string               `json:"policy"`
	Redis  counters.RedisConfig `json:"redis"`
	// SyncRate is how often, in seconds, the cluster policy synchronizes
	// this node's counts with the fleet's; -1 (or 0) counts in the table
	// on every request.
	SyncRate float64 `json:"sync_rate"`
	// FaultTolerant proxies when a shared store cannot be reached (local
	// counters always can).
	FaultTolerant bool `json:"fault_tolerant"`
	// HideClientHeaders stops the rate-limit headers being sent.
	HideClientHeaders bool `json:"hide_client_headers"`
	// ErrorCode and ErrorMessage make the answer when a limit is hit.
	ErrorCode    int    `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

// RateLimiting is the handler built for one plugin instance of one
// snapshot; its counters outlive the snapshot (see Store).
type RateLimiting struct {
	conf   Config
	limits [numPeriods]int64
	// limitText holds the limits as header values, formatted once.
	limitText [numPeriods]string
	periods   int
	counters  *Counters
	// remote, when set, is the shared store counted in instead; scope is
	// "route:service" in its keys.
	remote   counters.Store
	scope    string
	failures *counters.FailureLog
	now      func() time.Time
}

var (
	_ plugin.Handler          = (*RateLimiting)(nil)
	_ plugin.Accessor         = (*RateLimiting)(nil)
	_ plugin.ViewAccessor     = (*RateLimiting)(nil)
	_ plugin.HeaderFilter     = (*RateLimiting)(nil)
	_ plugin.ViewHeaderFilter = (*RateLimiting)(nil)
)

// Shared are the stores of the policies that count across data planes.
type Shared struct {
	// Redis hands out a store per Redis server.
	Redis *counters.Redises
	// Cluster gives the cluster policy's stores; nil when the data plane
	// has no counter table.
	Cluster *counters.Cluster
	// Log receives store failures.
	Log *slog.Logger
}

// NewFactory returns the plugin's factory, keeping local counters in
// store and shared ones in shared.
func NewFactory(store *Store, shared Shared) plugin.Factory {
	if shared.Log == nil {
		shared.Log = slog.New(slog.DiscardHandler)
	}
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building rate-limiting: %w", err)
		}
		keep := map[string]bool{}
		for _, p := range env.Config.Plugins {
			if p.Name == Name {
				keep[p.ID] = true
			}
		}
		store.retain(keep)
		rl := &RateLimiting{conf: c, counters: store.counters(env.Plugin.ID), now: store.now,
			failures: counters.NewFailureLog(shared.Log, time.Minute)}
		switch c.Policy {
		case "redis":
			rl.remote = shared.Redis.For(c.Redis)
		case "cluster":
			rl.remote = shared.Cluster.Store(time.Duration(c.SyncRate * float64(time.Second)))
		}
		rl.scope = scopeOf(env)
		for p, v := range []*float64{c.Second, c.Minute, c.Hour, c.Day, c.Month, c.Year} {
			if v != nil && *v > 0 {
				rl.limits[p] = int64(*v)
				rl.limitText[p] = strconv.FormatInt(rl.limits[p], 10)
				rl.periods++
			}
		}
		if rl.conf.ErrorCode == 0 {
			rl.conf.ErrorCode = http.StatusTooManyRequests
		}
		return rl, nil
	}
}

// Name implements plugin.Handler.
func (rl *RateLimiting) Name() string { return Name }

// headers is what Access computed for the header filter, kept with
// SetState: from headersPool, back in it when the context is released
// (plugin.Releaser).
type headers struct {
	usage                   [numPeriods]usage
	limit, remaining, reset int64
}

var headersPool = sync.Pool{New: func() any { return new(headers) }}

// newHeaders is a cleared headers from the pool.
func newHeaders() *headers {
	h := headersPool.Get().(*headers)
	*h = headers{}
	return h
}

// Release implements plugin.Releaser.
func (h *headers) Release() { headersPool.Put(h) }

// Access implements plugin.Accessor.
func (rl *RateLimiting) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return rl.access(r.Context(), pc, identifier(rl, pc, httpRequest{r}))
}

// OnView implements plugin.ViewAccessor: the local policy. The shared
// stores are reached with the adapted request's context.
func (rl *RateLimiting) OnView() bool { return rl.remote == nil }

// AccessView implements plugin.ViewAccessor. Local counters take no
// context.
func (rl *RateLimiting) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	return rl.access(context.Background(), pc, identifier(rl, pc, viewRequest{r}))
}

// access counts the request of identifier in each window: both access
// phases.
func (rl *RateLimiting) access(ctx context.Context, pc *plugin.Context, identifier string) *plugin.Response {
	now := rl.now()
	var use [numPeriods]usage
	var stop period
	var starts [numPeriods]int64
	if rl.remote != nil {
		var err error
		if stop, starts, err = rl.takeShared(ctx, identifier, now, &use); err != nil {
			// Nothing was taken from headersPool yet: a failing store
			// costs the pool nothing.
			if !rl.conf.FaultTolerant {
				return plugin.Error(http.StatusInternalServerError, "")
			}
			rl.failures.Error("rate-limiting: counting in the shared store", "policy", rl.conf.Policy, "error", err)
			return nil
		}
	} else {
		stop, starts = rl.counters.take(identifier, &rl.limits, now, &use)
	}
	h := newHeaders()
	h.usage = use
	rl.summarize(h, stop, starts, now)
	if stop >= 0 {
		resp := plugin.Error(rl.conf.ErrorCode, rl.conf.ErrorMessage)
		// hide_client_headers hides Retry-After too
		// (kong/plugins/rate-limiting/handler.lua).
		if !rl.conf.HideClientHeaders {
			rl.write(h, resp.Header)
			resp.Header.Set(HeaderRetry, strconv.FormatInt(h.reset, 10))
		}
		h.Release()
		return resp
	}
	if rl.conf.HideClientHeaders {
		h.Release()
		return nil
	}
	pc.SetState(h)
	return nil
}

// summarize computes, as Kong does, each window's remaining count after
// this request and picks the most restrictive window for the RateLimit-*
// headers.
func (rl *RateLimiting) summarize(h *headers, stop period, starts [numPeriods]int64, now time.Time) {
	first := true
	var window int64
	for p := range numPeriods {
		u := &h.usage[p]
		if u.limit == 0 {
			continue
		}
		if stop < 0 || stop == p {
			u.remaining--
		}
		u.remaining = max(0, u.remaining)
		if first || u.remaining < h.remaining || (u.remaining == h.remaining && expiration[p] > window) {
			first = false
			h.limit, h.remaining, window = u.limit, u.remaining, expiration[p]
			h.reset = max(1, expiration[p]-(now.Unix()-starts[p]))
		}
	}
}

// write sets the rate-limit headers, their values in one allocation.
func (rl *RateLimiting) write(h *headers, out http.Header) {
	vals := make([]string, 0, 2*rl.periods+3)
	put := func(k, v string) {
		vals = append(vals, v)
		out[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	rl.fields(h, put, func(k string, n int64) { put(k, strconv.FormatInt(n, 10)) })
}

// fields puts each rate-limit header, its canonical name and value, in
// the order Kong sets them: a configured limit as its text (put), a
// count as its number (putInt).
func (rl *RateLimiting) fields(h *headers, put func(k, v string), putInt func(k string, n int64)) {
	limit := ""
	for p := range numPeriods {
		if u := h.usage[p]; u.limit > 0 {
			put(headerLimit[p], rl.limitText[p])
			putInt(headerRemaining[p], u.remaining)
			if u.limit == h.limit {
				limit = rl.limitText[p]
			}
		}
	}
	put(HeaderLimit, limit)
	putInt(HeaderRemaining, h.remaining)
	putInt(HeaderReset, h.reset)
}

// Header implements plugin.HeaderFilter: the rate-limit headers on the
// proxied response.
func (rl *RateLimiting) Header(pc *plugin.Context, _ int, out http.Header) {
	if h, ok := pc.State().(*headers); ok {
		rl.write(h, out)
	}
}

// HeaderView implements plugin.ViewHeaderFilter: the rate-limit headers
// set as Header sets them (replacing the upstream's own).
func (rl *RateLimiting) HeaderView(pc *plugin.Context, _ int) {
	if h, ok := pc.State().(*headers); ok {
		rl.fields(h, pc.SetResponseField, pc.SetResponseFieldInt)
	}
}

// identifier is who is counted, falling back to the client IP as Kong
// does when the chosen key is absent.
func identifier[R request](rl *RateLimiting, pc *plugin.Context, r R) string {
	switch rl.conf.LimitBy {
	case "consumer", "":
		if pc.Consumer != nil {
			return pc.Consumer.ID
		}
		if pc.Credential != nil {
			return pc.Credential.Meta().ID
		}
	case "credential":
		if pc.Credential != nil {
			return pc.Credential.Meta().ID
		}
	case "service":
		if pc.Service != nil {
			return pc.Service.ID
		}
	case "header":
		if v := r.header(rl.conf.HeaderName); v != "" {
			return v
		}
	case "path":
		if p := r.path(); p == rl.conf.Path {
			return p
		}
	}
	return pc.ClientIP
}

// request is what identifier reads: the adapted request or the view.
type request interface {
	// header is the first value of the field name, "" for none.
	header(name string) string
	// path is the request's path, percent-decoded.
	path() string
}

type httpRequest struct{ r *http.Request }

func (h httpRequest) header(name string) string { return h.r.Header.Get(name) }
func (h httpRequest) path() string              { return h.r.URL.Path }

type viewRequest struct{ r exchange.Request }

func (v viewRequest) header(name string) string { return string(v.r.Header().Get(name)) }

// path decodes the view's path as net/http's URL does (a path it could
// not decode never reaches the plugins).
func (v viewRequest) path() string {
	p := string(v.r.Path())
	if strings.IndexByte(p, '%') < 0 {
		return p
	}
	if d, err := url.PathUnescape(p); err == nil {
		return d
	}
	return p
}

// scopeOf is "route:service" of a plugin instance, Kong's empty UUID for
// what it is not scoped on.
func scopeOf(env plugin.Env) string {
	route, service := emptyUUID, emptyUUID
	if env.Plugin.Route != nil {
		route = env.Plugin.Route.ID
	}
	if env.Plugin.Service != nil {
		service = env.Plugin.Service.ID
	}
	return route + ":" + service
}

// takeShared counts the request in each limited window of the shared
// store, as Kong's redis policy does with sync_rate -1: every request is
// counted, refused ones too, and the window is full when the count
// before this request reached the limit.
func (rl *RateLimiting) takeShared(ctx context.Context, identifier string, now time.Time, out *[numPeriods]usage) (stop period, starts [numPeriods]int64, err error) {
	route, service, _ := strings.Cut(rl.scope, ":")
	incs := make([]counters.Increment, 0, rl.periods)
	for p := range numPeriods {
		if rl.limits[p] == 0 {
			continue
		}
		starts[p] = windowStart(p, now)
		name := periodNames[p]
		incs = append(incs, counters.Increment{N: 1, TTL: counters.Expiration(name),
			Key: "ratelimit:" + route + ":" + service + ":" + identifier + ":" +
				strconv.FormatInt(counters.WindowStart(name, now), 10) + ":" + name})
	}
	vals, err := rl.remote.Add(ctx, incs)
	if err != nil {
		return 0, starts, err
	}
	stop = -1
	i := 0
	for p := range numPeriods {
		if rl.limits[p] == 0 {
			continue
		}
		rem := rl.limits[p] - (vals[i] - 1)
		i++
		out[p] = usage{limit: rl.limits[p], remaining: rem}
		if rem <= 0 && stop < 0 {
			stop = p
		}
	}
	return stop, starts, nil
}
