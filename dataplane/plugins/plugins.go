// Package plugins registers every plugin the data plane ships, one
// sub-package each, in the one registry the proxy builds its plugin sets
// from.
package plugins

import (
	"log/slog"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/acl"
	"github.com/skyport-gw/skyport/dataplane/plugins/awslambda"
	"github.com/skyport-gw/skyport/dataplane/plugins/basicauth"
	"github.com/skyport-gw/skyport/dataplane/plugins/botdetection"
	"github.com/skyport-gw/skyport/dataplane/plugins/correlationid"
	"github.com/skyport-gw/skyport/dataplane/plugins/cors"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/datadog"
	"github.com/skyport-gw/skyport/dataplane/plugins/filelog"
	"github.com/skyport-gw/skyport/dataplane/plugins/hmacauth"
	"github.com/skyport-gw/skyport/dataplane/plugins/httplog"
	"github.com/skyport-gw/skyport/dataplane/plugins/iprestriction"
	"github.com/skyport-gw/skyport/dataplane/plugins/jwt"
	"github.com/skyport-gw/skyport/dataplane/plugins/keyauth"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/opentelemetry"
	"github.com/skyport-gw/skyport/dataplane/plugins/prometheus"
	"github.com/skyport-gw/skyport/dataplane/plugins/proxycache"
	"github.com/skyport-gw/skyport/dataplane/plugins/ratelimiting"
	"github.com/skyport-gw/skyport/dataplane/plugins/redirect"
	"github.com/skyport-gw/skyport/dataplane/plugins/requestsizelimiting"
	"github.com/skyport-gw/skyport/dataplane/plugins/requesttermination"
	"github.com/skyport-gw/skyport/dataplane/plugins/requesttransformer"
	"github.com/skyport-gw/skyport/dataplane/plugins/responseratelimiting"
	"github.com/skyport-gw/skyport/dataplane/plugins/responsetransformer"
	"github.com/skyport-gw/skyport/dataplane/plugins/statsd"
	"github.com/skyport-gw/skyport/dataplane/plugins/syslog"
	"github.com/skyport-gw/skyport/dataplane/plugins/tcplog"
	"github.com/skyport-gw/skyport/dataplane/plugins/udplog"
	"github.com/skyport-gw/skyport/dataplane/plugins/zipkin"
)

// Options carry the long-lived state some plugins feed.
type Options struct {
	// Metrics receives the prometheus plugin's metrics; register it with
	// the status server's registry. Nil keeps them unexported.
	Metrics *prometheus.Metrics
	// RateLimits keeps rate-limiting counters across snapshots; nil
	// creates a store owned by the registry.
	RateLimits *ratelimiting.Store
	// ProxyCache holds proxy-cache's entries; serve its API on the status
	// listener. Nil creates a store owned by the registry.
	ProxyCache *proxycache.Store
	// Counters keep response-ratelimiting's local counts; Redis the redis
	// policy's connections (close them at shutdown); Cluster, when set,
	// the cluster policy's stores over the counter table (close it at
	// shutdown; without it the cluster policy fails, and fault_tolerant
	// instances let requests through). Nil Counters and Redis are
	// created, owned by the registry.
	Counters *counters.Memory
	Redis    *counters.Redises
	Cluster  *counters.Cluster
	// AWS is the data plane's Region and credentials, for aws-lambda
	// instances without their own.
	AWS awslambda.AWS
	// Now is response-ratelimiting's clock (the windows counted in); nil
	// is time.Now.
	Now func() time.Time
	// LogQueues counts the logging plugins' delivered, dropped and failed
	// entries; register it with the status server's registry. Nil keeps
	// the counts unexported.
	LogQueues *logqueue.Metrics
	// Log receives the plugins' failures (a log receiver, a store or a
	// function that cannot be reached); nil is slog.Default().
	Log *slog.Logger
	// SyslogSocket is the local syslog socket the syslog plugin writes
	// to; "" tries /dev/log, /var/run/syslog and /var/run/log.
	SyslogSocket string
	// NodeID and Version describe the data plane to the tracing plugins
	// (opentelemetry's service.instance.id and service.version).
	NodeID, Version string
}

// Registry returns a registry of every shipped plugin with state of its
// own (metrics not exported anywhere).
func Registry() *plugin.Registry { return RegistryWith(Options{}) }

// RegistryWith returns a registry of every shipped plugin using o's state.
// Build one per data plane and keep it: rate-limiting counters live in it.
func RegistryWith(o Options) *plugin.Registry {
	if o.Metrics == nil {
		o.Metrics = prometheus.NewMetrics()
	}
	if o.RateLimits == nil {
		o.RateLimits = ratelimiting.NewStore()
	}
	if o.ProxyCache == nil {
		o.ProxyCache = proxycache.NewStore()
	}
	if o.Counters == nil {
		o.Counters = counters.NewMemory(o.Now)
	}
	if o.Redis == nil {
		o.Redis = counters.NewRedises()
	}
	if o.LogQueues == nil {
		o.LogQueues = logqueue.NewMetrics()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := plugin.NewRegistry()
	r.Register(acl.Name, acl.New)
	r.Register(awslambda.Name, awslambda.NewFactory(o.AWS, o.Log))
	r.Register(basicauth.Name, basicauth.New)
	r.Register(botdetection.Name, botdetection.New)
	r.Register(correlationid.Name, correlationid.New)
	r.Register(cors.Name, cors.New)
	r.Register(hmacauth.Name, hmacauth.New)
	r.Register(datadog.Name, datadog.NewFactory(o.LogQueues, o.Log))
	r.Register(filelog.Name, filelog.NewFactory(o.LogQueues, o.Log))
	r.Register(httplog.Name, httplog.NewFactory(o.LogQueues, o.Log))
	r.Register(iprestriction.Name, iprestriction.New)
	r.Register(jwt.Name, jwt.New)
	r.Register(keyauth.Name, keyauth.New)
	r.Register(opentelemetry.Name, opentelemetry.NewFactory(opentelemetry.Options{NodeID: o.NodeID,
		Version: o.Version, Metrics: o.LogQueues, Log: o.Log}))
	r.Register(prometheus.Name, prometheus.NewFactory(o.Metrics))
	r.Register(proxycache.Name, proxycache.NewFactory(o.ProxyCache))
	r.Register(ratelimiting.Name, ratelimiting.NewFactory(o.RateLimits,
		ratelimiting.Shared{Redis: o.Redis, Cluster: o.Cluster, Log: o.Log}))
	r.Register(redirect.Name, redirect.New)
	r.Register(requestsizelimiting.Name, requestsizelimiting.New)
	r.Register(requesttermination.Name, requesttermination.New)
	r.Register(requesttransformer.Name, requesttransformer.New)
	r.Register(responseratelimiting.Name, responseratelimiting.NewFactory(responseratelimiting.Stores{
		Local: o.Counters, Redis: o.Redis, Cluster: o.Cluster, Now: o.Now, Log: o.Log}))
	r.Register(responsetransformer.Name, responsetransformer.New)
	r.Register(statsd.Name, statsd.NewFactory(o.LogQueues, o.Log))
	r.Register(syslog.Name, syslog.NewFactory(o.LogQueues, o.Log, o.SyslogSocket))
	r.Register(tcplog.Name, tcplog.NewFactory(o.LogQueues, o.Log))
	r.Register(udplog.Name, udplog.NewFactory(o.LogQueues, o.Log))
	r.Register(zipkin.Name, zipkin.NewFactory(zipkin.Options{NodeID: o.NodeID, Metrics: o.LogQueues, Log: o.Log}))
	return r
}
