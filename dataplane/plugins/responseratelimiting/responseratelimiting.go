// Package responseratelimiting is Kong's response-ratelimiting plugin:
// the upstream says in a response header (X-Kong-Limit: videos=2) how
// much of each named limit a request used; the plugin counts it per
// consumer, credential or IP, reports what remains, and refuses requests
// once a limit is used up.
package responseratelimiting

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
)

// Name is the plugin's name.
const Name = "response-ratelimiting"

// emptyUUID stands for a plugin not scoped on a route or service in
// counter keys, as in Kong.
const emptyUUID = "00000000-0000-0000-0000-000000000000"

// storeTimeout bounds one counter store call made after the response.
const storeTimeout = 5 * time.Second

// Config is response-ratelimiting's configuration.
type Config struct {
	// HeaderName is the upstream response header carrying the usage
	// (removed before the response is sent).
	HeaderName string `json:"header_name"`
	// LimitBy is consumer, credential or ip.
	LimitBy string `json:"limit_by"`
	// Policy is local, redis or cluster; Redis configures redis.
	Policy string               `json:"policy"`
	Redis  counters.RedisConfig `json:"redis"`
	// FaultTolerant proxies when the counters cannot be read.
	FaultTolerant bool `json:"fault_tolerant"`
	// BlockOnFirstViolation refuses a request as soon as any limit is used
	// up, before proxying it.
	BlockOnFirstViolation bool `json:"block_on_first_violation"`
	// HideClientHeaders stops the per-period headers being sent.
	HideClientHeaders bool `json:"hide_client_headers"`
	// Limits are the named limits, each with a limit per period.
	Limits map[string]map[string]*float64 `json:"limits"`
}

// Stores are the counter stores of the policies.
type Stores struct {
	// Local counts on this data plane.
	Local *counters.Memory
	// Redis hands out a store per Redis server.
	Redis *counters.Redises
	// Cluster gives the cluster policy's stores; nil when the data plane
	// has no counter table.
	Cluster *counters.Cluster
	// Log receives store failures.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// limit is one named limit's period.
type limit struct {
	name, period string
	max          int64
}

// ResponseRateLimiting is the handler built for one plugin instance of
// one snapshot.
type ResponseRateLimiting struct {
	conf            Config
	limits          []limit
	names           []string
	store           counters.Store
	scope           string // "route:service" of the instance
	failures        *counters.FailureLog
	now             func() time.Time
	remainingHeader map[string]string
	// local is set for the local policy, whose counters take no context.
	local bool
}

var (
	_ plugin.Handler      = (*ResponseRateLimiting)(nil)
	_ plugin.Accessor     = (*ResponseRateLimiting)(nil)
	_ plugin.ViewAccessor = (*ResponseRateLimiting)(nil)
	_ plugin.HeaderFilter = (*ResponseRateLimiting)(nil)
	_ plugin.ViewLogger   = (*ResponseRateLimiting)(nil)
)

// NewFactory returns the plugin's factory over stores.
func NewFactory(stores Stores) plugin.Factory {
	if stores.Now == nil {
		stores.Now = time.Now
	}
	if stores.Log == nil {
		stores.Log = slog.New(slog.DiscardHandler)
	}
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building response-ratelimiting: %w", err)
		}
		rl := &ResponseRateLimiting{conf: c, failures: counters.NewFailureLog(stores.Log, time.Minute), now: stores.Now,
			remainingHeader: map[string]string{}}
		switch c.Policy {
		case "redis":
			rl.store = stores.Redis.For(c.Redis)
		case "cluster":
			rl.store = stores.Cluster.Store(0)
		default:
			rl.store, rl.local = stores.Local, true
		}
		route, service := emptyUUID, emptyUUID
		if env.Plugin.Route != nil {
			route = env.Plugin.Route.ID
		}
		if env.Plugin.Service != nil {
			service = env.Plugin.Service.ID
		}
		rl.scope = route + ":" + service
		for name, periods := range c.Limits {
			rl.names = append(rl.names, name)
			rl.remainingHeader[name] = "X-RateLimit-Remaining-" + name
			for _, p := range counters.Periods {
				if v := periods[p]; v != nil {
					rl.limits = append(rl.limits, limit{name: name, period: p, max: int64(*v)})
				}
			}
		}
		slices.Sort(rl.names)
		return rl, nil
	}
}

// Name implements plugin.Handler.
func (rl *ResponseRateLimiting) Name() string { return Name }

// state is what Access found, for the later phases.
type state struct {
	identifier string
	ts         time.Time
	// remaining per limit (rl.limits' order) before this response; nil
	// when the counters could not be read.
	remaining  []int64
	increments map[string]int64
	stopLog    bool
	// accessHeaders are the X-RateLimit-Remaining-<name> values.
	accessHeaders map[string]int64
}

// key is the counter key, as Kong's (policies/init.lua, get_local_key).
func (rl *ResponseRateLimiting) key(identifier, name, period string, ts time.Time) string {
	route, service, _ := strings.Cut(rl.scope, ":")
	return "response-ratelimit:" + route + ":" + service + ":" + identifier + ":" +
		strconv.FormatInt(counters.WindowStart(period, ts), 10) + ":" + name + ":" + period
}

// Access implements plugin.Accessor, as response-ratelimiting/access.lua.
func (rl *ResponseRateLimiting) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return rl.access(r.Context(), pc)
}

// OnView implements plugin.Viewer: the local policy, whose counters take
// no context (the shared stores are reached with the adapted request's).
// The header filter reads and removes the upstream's usage field and may
// answer 429 instead (Context.ExitInHeader): it is no
// plugin.ViewHeaderFilter, so the native path relays the response
// through a map.
func (rl *ResponseRateLimiting) OnView() bool { return rl.local }

// AccessView implements plugin.ViewAccessor: Access, which reads nothing
// of the request but the identifier's context fields.
func (rl *ResponseRateLimiting) AccessView(pc *plugin.Context, _ exchange.Request) *plugin.Response {
	return rl.access(context.Background(), pc)
}

// access is both access phases, the counters read with ctx.
func (rl *ResponseRateLimiting) access(ctx context.Context, pc *plugin.Context) *plugin.Response {
	if len(rl.limits) == 0 {
		return nil
	}
	st := &state{identifier: rl.identifier(pc), ts: rl.now()}
	pc.SetState(st)
	keys := make([]string, len(rl.limits))
	for i, l := range rl.limits {
		keys[i] = rl.key(st.identifier, l.name, l.period, st.ts)
	}
	used, err := rl.store.Get(ctx, keys)
	if err != nil {
		if !rl.conf.FaultTolerant {
			return plugin.Error(http.StatusInternalServerError, "")
		}
		rl.failures.Error("response-ratelimiting: reading counters", "error", err)
		return nil
	}
	st.remaining = make([]int64, len(rl.limits))
	st.accessHeaders = map[string]int64{}
	for i, l := range rl.limits {
		st.remaining[i] = l.max - used[i]
		if rl.conf.BlockOnFirstViolation && st.remaining[i] <= 0 {
			st.remaining, st.accessHeaders = nil, nil
			return plugin.Error(http.StatusTooManyRequests, "API rate limit exceeded for '"+l.name+"'")
		}
		if cur, ok := st.accessHeaders[l.name]; !ok || st.remaining[i] < cur {
			st.accessHeaders[l.name] = st.remaining[i]
		}
	}
	return nil
}

// identifier is who is counted, the client IP when the consumer or
// credential is unknown.
func (rl *ResponseRateLimiting) identifier(pc *plugin.Context) string {
	switch rl.conf.LimitBy {
	case "consumer":
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
	}
	return pc.ClientIP
}

// Header implements plugin.HeaderFilter, as header_filter.lua: the usage
// the upstream reports is read and removed, the headers set, and the
// response replaced by 429 when it used a limit already used up.
func (rl *ResponseRateLimiting) Header(pc *plugin.Context, _ int, h http.Header) {
	st, ok := pc.State().(*state)
	if !ok {
		return
	}
	for name, v := range st.accessHeaders {
		h.Set(rl.remainingHeader[name], strconv.FormatInt(v, 10))
	}
	st.increments = rl.parse(h.Values(rl.conf.HeaderName))
	if st.remaining == nil {
		h.Del(rl.conf.HeaderName)
		return
	}
	stop := false
	for i, l := range rl.limits {
		inc := st.increments[l.name]
		if !rl.conf.HideClientHeaders {
			h.Set("X-RateLimit-Limit-"+l.name+"-"+l.period, strconv.FormatInt(l.max, 10))
			h.Set("X-RateLimit-Remaining-"+l.name+"-"+l.period, strconv.FormatInt(max(0, st.remaining[i]-inc), 10))
		}
		if inc > 0 && st.remaining[i] <= 0 {
			stop = true
		}
	}
	h.Del(rl.conf.HeaderName)
	if stop {
		st.stopLog = true
		pc.ExitInHeader(http.StatusTooManyRequests)
	}
}

// parse reads "name=n, other=m" (or one value per header line) for the
// configured limits.
func (rl *ResponseRateLimiting) parse(values []string) map[string]int64 {
	out := map[string]int64{}
	if len(values) == 0 {
		return out
	}
	var parts []string
	if len(values) > 1 {
		parts = values
	} else {
		parts = strings.Split(values[0], ",")
	}
	for _, p := range parts {
		name, n, ok := strings.Cut(p, "=")
		if !ok || strings.Contains(n, "=") {
			continue
		}
		name = strings.TrimSpace(name)
		if _, known := rl.conf.Limits[name]; !known {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil {
			out[name] = int64(v)
		}
	}
	return out
}

// LogView implements plugin.ViewLogger: Log, which reads of e only its
// request's context, absent on the view.
func (rl *ResponseRateLimiting) LogView(pc *plugin.Context, e *plugin.LogEntry) { rl.Log(pc, e) }

// Log implements plugin.Logger, as log.lua: the usage is counted in every
// period's window.
func (rl *ResponseRateLimiting) Log(pc *plugin.Context, e *plugin.LogEntry) {
	st, ok := pc.State().(*state)
	if !ok || st.stopLog || st.remaining == nil {
		return
	}
	var incs []counters.Increment
	for _, name := range rl.names {
		n := st.increments[name]
		if n == 0 {
			continue
		}
		for _, p := range counters.Periods {
			incs = append(incs, counters.Increment{Key: rl.key(st.identifier, name, p, st.ts), N: n,
				TTL: counters.Expiration(p)})
		}
	}
	if len(incs) == 0 {
		return
	}
	ctx := context.Background()
	if e != nil && e.Request != nil {
		ctx = context.WithoutCancel(e.Request.Context())
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := rl.store.Add(ctx, incs); err != nil {
		rl.failures.Error("response-ratelimiting: counting usage", "error", err)
	}
}
