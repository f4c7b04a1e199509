package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyport-gw/skyport/dataplane/status"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// applier is what the sync client feeds: the proxy's compile-and-swap.
type applier interface {
	// Apply compiles cfg completely and swaps it in; on error the running
	// configuration is untouched.
	Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error
	// Current returns the running revision and config hash.
	Current() (revision int64, hash string)
}

// pluginLister is implemented by an applier that can name its plugins,
// which the hello reports.
type pluginLister interface {
	Plugins() []string
}

// healthLister is an applier that knows its upstreams' targets' health.
type healthLister interface {
	Health() []upstream.TargetHealth
}

// reportedHealth turns the proxy's view of its targets into what a status
// reports, in Kong's words.
func reportedHealth(in []upstream.TargetHealth) []protocol.TargetHealth {
	out := make([]protocol.TargetHealth, 0, len(in))
	for _, t := range in {
		h := protocol.HealthOff
		switch {
		case t.Checked && t.Healthy:
			h = protocol.HealthHealthy
		case t.Checked:
			h = protocol.HealthUnhealthy
		}
		out = append(out, protocol.TargetHealth{UpstreamID: t.UpstreamID, Target: t.Target, Health: h})
	}
	return out
}

// startSync starts the data plane's control-plane connection, cache and
// fallback, as o configures them; it returns nil when none is configured.
// It stops when ctx is done, then closes the returned channel: what it was
// writing to the cache (the revision just applied) is on disk by then.
func startSync(ctx context.Context, o *dpOptions, a applier, log *slog.Logger) (status.SyncReporter, <-chan struct{}, error) {
	synced := o.CPURL != "" || o.FallbackURL != ""
	if o.DeclarativeConfig != "" {
		if synced {
			return nil, nil, errors.New("--declarative-config conflicts with --cp-url and --fallback-url: choose one")
		}
		return nil, nil, nil
	}
	if !synced {
		return nil, nil, nil
	}
	cfg, err := syncConfig(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	if p, ok := a.(pluginLister); ok {
		cfg.Plugins = p.Plugins()
	}
	if h, ok := a.(healthLister); ok {
		cfg.Health = func() []protocol.TargetHealth { return reportedHealth(h.Health()) }
	}
	cfg.Log = log.With("component", "sync")
	client, err := dpsync.New(cfg, a)
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.Run(ctx)
	}()
	return client, done, nil
}

// syncConfig turns the data plane's flags into the sync client's settings.
func syncConfig(ctx context.Context, o *dpOptions) (dpsync.Config, error) {
	if o.VerifyKey == "" {
		return dpsync.Config{}, errors.New("--verify-key is required with --cp-url or --fallback-url")
	}
	key, err := snapshot.LoadPublicKey(o.VerifyKey)
	if err != nil {
		return dpsync.Config{}, fmt.Errorf("--verify-key: %w", err)
	}
	labels, err := parseLabels(o.Labels)
	if err != nil {
		return dpsync.Config{}, err
	}
	cfg := dpsync.Config{
		CPURL:          o.CPURL,
		VerifyKey:      key,
		AdoptCluster:   o.AdoptCluster,
		Labels:         labels,
		Version:        version,
		FallbackPoll:   o.FallbackPoll,
		ReportInterval: o.ReportInterval,
		Traffic:        o.traffic,
	}
	if cfg.HTTPClient, err = cpHTTPClient(o); err != nil {
		return dpsync.Config{}, err
	}
	cfg.Hostname, _ = os.Hostname()
	if cfg.NodeID = o.NodeID; cfg.NodeID == "" {
		if cfg.NodeID, err = cache.NodeID(o.CacheDir); err != nil {
			return dpsync.Config{}, err
		}
	}
	if o.CacheDir != "" {
		cfg.Cache = cache.New(o.CacheDir, key)
	}
	if o.CPURL != "" {
		if cfg.Auth, err = cpAuth(ctx, o); err != nil {
			return dpsync.Config{}, err
		}
	}
	if o.FallbackURL != "" {
		if cfg.Fallback, err = fallbackStores(ctx, o.FallbackURL, cfg.HTTPClient); err != nil {
			return dpsync.Config{}, err
		}
	}
	return cfg, nil
}

// cpAuth checks --cp-url and builds the credentials --cp-auth names.
func cpAuth(ctx context.Context, o *dpOptions) (dpsync.Auth, error) {
	u, err := url.Parse(o.CPURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("--cp-url %q: want ws://host:port or wss://host/stage", o.CPURL)
	}
	switch o.CPAuth {
	case "token", "":
		return dpsync.Bearer(o.CPToken), nil
	case "iam":
		awsCfg, err := awsconfig.Load(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("--cp-auth iam: %w", err)
		}
		if err := awsconfig.Check(ctx, awsCfg); err != nil {
			return nil, fmt.Errorf("--cp-auth iam: %w", err)
		}
		return &dpsync.SigV4{Credentials: awsCfg.Credentials, Region: awsCfg.Region}, nil
	}
	return nil, fmt.Errorf("--cp-auth %q: want iam or token", o.CPAuth)
}

// fallbackStores opens --fallback-url: one store, or several separated by
// commas (a bucket per Region, the home Region's first) read in order.
// Besides s3:// and file://, a fallback may be https:// (a CDN or web
// server in front of the layout), read with client.
func fallbackStores(ctx context.Context, raw string, client *http.Client) (objstore.Store, error) {
	var stores []objstore.Store
	for _, u := range strings.Split(raw, ",") {
		u = strings.TrimSpace(u)
		var s objstore.Store
		var err error
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			s, err = objstore.NewHTTP(u, client)
			if err != nil {
				err = fmt.Errorf("--fallback-url: %w", err)
			}
		} else {
			s, err = fallbackStore(ctx, u)
		}
		if err != nil {
			return nil, err
		}
		stores = append(stores, s)
	}
	if len(stores) == 1 {
		return stores[0], nil
	}
	return objstore.NewFailover(stores...), nil
}

// fallbackStore opens s3://bucket/prefix or file:///dir.
func fallbackStore(ctx context.Context, raw string) (objstore.Store, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--fallback-url %q: want s3://bucket/prefix or file:///dir", raw)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" {
			return nil, fmt.Errorf("--fallback-url %q: want file:///absolute/dir", raw)
		}
		store, err := objstore.NewDir(u.Path)
		if err != nil {
			return nil, fmt.Errorf("--fallback-url: %w", err)
		}
		return store, nil
	case "s3":
		bucket, prefix, err := objstore.ParseS3URL(raw)
		if err != nil {
			return nil, fmt.Errorf("--fallback-url: %w", err)
		}
		awsCfg, err := awsconfig.Load(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("--fallback-url: %w", err)
		}
		if err := awsconfig.Check(ctx, awsCfg); err != nil {
			return nil, fmt.Errorf("--fallback-url %s: %w", raw, err)
		}
		// Emulators (moto, LocalStack) serve buckets by path.
		pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
		return objstore.NewS3(client, bucket, prefix), nil
	}
	return nil, fmt.Errorf("--fallback-url %q: want s3://bucket/prefix or file:///dir", raw)
}

// parseLabels reads --labels, k:v,k:v.
func parseLabels(raw string) (map[string]string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	labels := map[string]string{}
	for _, pair := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels %q: want k:v,k:v", raw)
		}
		labels[k] = v
	}
	return labels, nil
}
