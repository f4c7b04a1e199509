package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/uuid"
	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/authorizer"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/eventsource"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/hub"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/rollout"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// controlPlane is the local control plane, composed but not yet running.
type controlPlane struct {
	admin http.Handler
	hub   *hub.Hub
	// cluster serves the cluster listener: the hub, and presigned
	// snapshot downloads with the embedded backend.
	cluster http.Handler
	// run drives publication until ctx is done: commit notifications
	// (embedded) or the table's stream (aws).
	run func(ctx context.Context) error
	// fallbackURL is where data planes read snapshots directly.
	fallbackURL string
	// verifyKey is what the built-in data plane verifies snapshots with:
	// the public half of the backend's signing key(s).
	verifyKey ed25519.PublicKey
	// collectors are the control plane's metrics, served on the built-in
	// data plane's /metrics.
	collectors []prom.Collector
	closers    []func() error
}

func (cp *controlPlane) close(log *slog.Logger) {
	for _, c := range cp.closers {
		if err := c(); err != nil {
			log.Warn("closing", "error", err)
		}
	}
}

// backend is what the two backends provide, the signing key included:
// it lives where the backend keeps its state (the embedded backend's
// --data-dir, Secrets Manager for aws).
type backend struct {
	key       ed25519.PrivateKey
	verify    ed25519.PublicKey
	store     store.Store
	objects   objstore.Store
	presigner objstore.Presigner
	registry  cluster.Registry
	database  string
	// onCommit registers a commit callback (embedded); nil when
	// publication follows the table's stream instead (aws).
	onCommit func(fn func(rev int64))
}

// buildControlPlane wires the store, the publisher, the WebSocket hub with
// the cluster routes, and the Admin API, as o selects.
func buildControlPlane(ctx context.Context, o *localOptions, cl *clusterListener, pluginNames []string, log *slog.Logger) (*controlPlane, error) {
	cp := &controlPlane{}
	var (
		b   backend
		err error
	)
	if o.Backend == "aws" {
		b, err = awsBackend(ctx, o, cp, log)
	} else {
		b, err = embeddedBackend(o, cp, cl.baseURL())
	}
	if err != nil {
		cp.close(log)
		return nil, err
	}
	cp.verifyKey = b.verify
	// The publisher and the $hello catch-up post to the hub in process
	// (what a signed @connections POST does, without the HTTP exchange and
	// the signature); the hub's @connections API answers calls signed with
	// a key no other process knows.
	notifier := &hubNotifier{}
	refused := prom.NewCounter(prom.CounterOpts{Name: "skyport_cp_refused_revisions_total",
		Help: "Revisions the publisher refused to publish, since a data plane would reject them"})
	halts := prom.NewCounter(prom.CounterOpts{Name: "skyport_cp_rollout_halts_total",
		Help: "Staged rollouts halted by a halt condition or through the Admin API"})
	cp.collectors = append(cp.collectors, refused, halts)
	hist := history.New(b.objects, history.Retention{Revisions: o.HistoryMaxRevisions, Age: o.HistoryMaxAge}, nil)
	def, err := defaultPolicy(o.RolloutPolicy)
	if err != nil {
		cp.close(log)
		return nil, err
	}
	rollouts := rollout.New(rollout.Options{
		Objects: b.objects, History: hist, Nodes: b.registry, Restorer: rollout.StoreRestorer(b.store), Default: def,
		OnHalt: func(int64, string) { halts.Inc() }, Logger: log.With("component", "rollout"),
	})
	pub := publisher.New(publisher.Options{
		Source: b.store, Objects: b.objects, Key: b.key, Notifier: notifier,
		Connections: b.registry, Presigner: b.presigner, History: hist, PruneHistory: true,
		Validator: preflight.New(), OnRefused: func(int64, error) { refused.Inc() }, Rollout: rollouts, Logger: log.With("component", "publisher"),
		MinInterval: publisher.DefaultMinInterval,
		FullEvery:   o.FullEvery, FullRatio: o.FullRatio, FullMaxAge: o.FullMaxAge,
	})
	importer := imports.NewWorker(imports.NewRunner(imports.RunnerOptions{
		Objects: b.objects, Store: b.store, Logger: log.With("component", "import"),
	}))
	if b.onCommit != nil {
		runner := publisher.NewRunner(pub)
		b.onCommit(func(int64) { runner.Kick() })
		cp.run = func(ctx context.Context) error {
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Go(func() { reconcile(ctx, pub, log) })
			wg.Go(func() { _ = importer.Run(ctx) })
			return ignoreCanceled(runner.Run(ctx))
		}
	} else {
		stream, err := streamPoller(ctx, o, pub, log)
		if err != nil {
			cp.close(log)
			return nil, err
		}
		cp.run = func(ctx context.Context) error {
			// Take the stream's position first, then catch up with what
			// was committed while nothing ran: no commit falls between.
			if _, err := stream.Poll(ctx); err != nil && ctx.Err() == nil {
				log.Error("reading the table's stream", "error", err)
			}
			if _, err := pub.Publish(ctx); err != nil && ctx.Err() == nil {
				log.Error("publishing at start", "error", err)
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Go(func() { reconcile(ctx, pub, log) })
			wg.Go(func() { _ = importer.Run(ctx) })
			return ignoreCanceled(stream.Run(ctx))
		}
	}
	routes := clusterRoutes(cluster.NewHandler(cluster.HandlerOptions{
		Registry: b.registry, Objects: b.objects, Notifier: notifier, Presigner: b.presigner,
		Logger: log.With("component", "cluster"),
	}))
	cp.hub = hub.New(hub.Options{
		Routes: routes, Authorize: hubAuthorizer(o.ClusterToken), ManagementCredentials: hubCredentials(),
		Logger: log.With("component", "hub"),
	})
	notifier.hub = cp.hub
	cp.cluster = cp.hub
	if lp, ok := b.presigner.(*localPresigner); ok {
		cp.cluster = clusterHandler(cp.hub, lp)
	}
	hostname, _ := os.Hostname()
	opts := admin.Options{
		Store: b.store, History: hist, Rollouts: rollouts, DataPlanes: b.registry, NodeID: uuid.NewString(), Hostname: hostname,
		Database: b.database, Plugins: pluginNames, Logger: log.With("component", "admin"),
		AdminListeners: []admin.Listener{{Addr: o.AdminListen}}, ProxyListeners: proxyListeners(o),
	}
	if up, ok := b.presigner.(objstore.PutPresigner); ok {
		opts.Imports = imports.NewJobs(imports.Options{Objects: b.objects, Presigner: up, Launcher: importer})
	}
	if o.AdminToken != "" {
		opts.TokenHash = admin.HashToken(o.AdminToken)
		cp.admin = admin.New(opts)
	} else {
		// Loopback is then the Admin API's only protection: refuse what
		// came through the data plane's proxy, DNS rebinding and CSRF.
		cp.admin = admin.LocalGuard(admin.New(opts))
	}
	return cp, nil
}

// defaultPolicy reads --rollout-policy; nil when it is not set.
func defaultPolicy(path string) (*rollout.Policy, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--rollout-policy: %w", err)
	}
	defer f.Close()
	p, err := rollout.ParsePolicy(f)
	if err != nil {
		return nil, fmt.Errorf("--rollout-policy %s: %w", path, err)
	}
	return &p, nil
}

// reconcileInterval is how often the staged rollout is stepped: bake
// timers, halt conditions, the Admin API's promote and halt.
const reconcileInterval = time.Second

// reconcile steps the staged rollout every reconcileInterval until ctx
// is done.
func reconcile(ctx context.Context, pub *publisher.Publisher, log *slog.Logger) {
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := pub.Reconcile(ctx); err != nil && ctx.Err() == nil {
			log.Warn("stepping the rollout", "error", err)
		}
	}
}

// hubCredentials returns an access key and secret made for this process
// alone: the hub's @connections API refuses any call not signed with them
// (Signature Version 4), so no other local process can post to data
// planes. They are never written anywhere.
func hubCredentials() aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     "SKY" + rand.Text()[:17],
		SecretAccessKey: rand.Text() + rand.Text(),
		Source:          "skyport local",
	}
}

// clusterRoutes sends every route of the WebSocket API to the cluster
// handler, as the API Gateway integration does.
func clusterRoutes(h *cluster.Handler) map[string]hub.Handler {
	routes := map[string]hub.Handler{}
	for _, k := range []string{hub.RouteConnect, hub.RouteDisconnect, hub.RouteDefault, protocol.ActionHello, protocol.ActionStatus} {
		routes[k] = h.Handle
	}
	return routes
}

// hubAuthorizer checks the data planes' bearer token, when one is set.
func hubAuthorizer(token string) hub.Authorizer {
	if token == "" {
		return nil
	}
	a := authorizer.New(token)
	return func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) error {
		if !a.CheckRequest(req) {
			return hub.ErrUnauthorized
		}
		return nil
	}
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// embeddedBackend opens the store and snapshot directory under --data-dir;
// the cluster listener at clusterBase serves presigned snapshot downloads.
func embeddedBackend(o *localOptions, cp *controlPlane, clusterBase string) (backend, error) {
	key, verify, err := embeddedKeys(o.DataDir)
	if err != nil {
		return backend{}, err
	}
	st, err := embedded.Open(filepath.Join(o.DataDir, "cp.db"))
	if err != nil {
		return backend{}, err
	}
	cp.closers = append(cp.closers, st.Close)
	dir := filepath.Join(o.DataDir, "snapshots")
	objects, err := objstore.NewDir(dir)
	if err != nil {
		return backend{}, fmt.Errorf("opening the snapshot directory: %w", err)
	}
	cp.fallbackURL = "file://" + filepath.ToSlash(dir)
	return backend{
		key: key, verify: verify,
		store: st, objects: objects, presigner: newLocalPresigner(clusterBase, objects),
		registry: cluster.NewMemory(nil, cluster.WithNodeLimit(o.ClusterMaxNodes)), database: "embedded", onCommit: st.OnCommit,
	}, nil
}

// awsBackend connects to DynamoDB, S3 and Secrets Manager through the SDK
// (AWS_ENDPOINT_URL points it at an emulator), creating the tables, the
// bucket and the signing-key secret with --create.
func awsBackend(ctx context.Context, o *localOptions, cp *controlPlane, log *slog.Logger) (backend, error) {
	bucket, prefix, err := objstore.ParseS3URL(o.Bucket)
	if err != nil {
		return backend{}, fmt.Errorf("--bucket: %w", err)
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return backend{}, err
	}
	if err := awsconfig.Check(ctx, cfg); err != nil {
		return backend{}, fmt.Errorf("--backend aws: %w", err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	st := dynamo.New(ddb, o.Table)
	registry := cluster.NewDynamo(ddb, o.ClusterTable, nil, cluster.WithNodeLimit(o.ClusterMaxNodes))
	// Emulators (moto, LocalStack) serve buckets by path.
	pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	s3c := s3.NewFromConfig(cfg, func(so *s3.Options) { so.UsePathStyle = pathStyle })
	if o.Create {
		log.Info("creating the tables, the bucket and the signing-key secret if absent", "table", o.Table, "cluster_table", o.ClusterTable,
			"bucket", bucket, "signing_key_secret", o.SigningKeySecret)
		if err := st.CreateTable(ctx); err != nil {
			return backend{}, err
		}
		if err := registry.CreateTable(ctx); err != nil {
			return backend{}, err
		}
		if err := createBucket(ctx, s3c, bucket, cfg.Region); err != nil {
			return backend{}, err
		}
	}
	key, verify, err := awsKeys(ctx, cfg, o, log)
	if err != nil {
		return backend{}, err
	}
	objects := objstore.NewS3(s3c, bucket, prefix)
	cp.fallbackURL = o.Bucket
	return backend{key: key, verify: verify, store: st, objects: objects, presigner: objects, registry: registry, database: "dynamodb"}, nil
}

func createBucket(ctx context.Context, client *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "" && region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	_, err := client.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	return nil
}

// streamPoller reads the configuration table's stream and hands the
// revision records to the publisher, as Lambda's event-source mapping does.
func streamPoller(ctx context.Context, o *localOptions, pub *publisher.Publisher, log *slog.Logger) (*eventsource.Poller, error) {
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	arn, err := eventsource.LatestStreamARN(ctx, dynamodb.NewFromConfig(cfg), o.Table)
	if err != nil {
		return nil, err
	}
	return eventsource.New(eventsource.Options{
		Client:    dynamodbstreams.NewFromConfig(cfg),
		StreamARN: arn,
		Handler:   pub.HandleEvent,
		Filter:    eventsource.RevisionFilter,
		// Commits made while nothing ran are caught up by the publication
		// at start, so the poller starts at the stream's tip.
		StartingPosition: streamtypes.ShardIteratorTypeLatest,
		// Lambda's event-source mapping polls a DynamoDB stream's shards
		// about four times a second.
		PollInterval: 250 * time.Millisecond,
		Logger:       log.With("component", "eventsource"),
	}), nil
}

// proxyListeners are the built-in data plane's listeners, for GET /.
func proxyListeners(o *localOptions) []admin.Listener {
	out := []admin.Listener{{Addr: o.dp.ProxyListen}}
	if o.dp.ProxyTLSListen != "" {
		out = append(out, admin.Listener{Addr: o.dp.ProxyTLSListen, SSL: true, HTTP2: true})
	}
	return out
}
