package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/awslambda"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/proxycache"
	"github.com/skyport-gw/skyport/internal/awsconfig"
)

// dataPlanePlugins builds a data plane's plugin registry from base (the
// metrics and queues the caller exports, the node's identity) and the
// state its plugins keep for as long as it runs: the proxy-cache store
// (its routes mounted on o's status listener with --proxy-cache-api),
// Redis connections, the
// cluster policy's counter table (--counters-table) and the AWS Region
// and credentials. closeAll releases them after the data plane stopped.
func dataPlanePlugins(ctx context.Context, o *dpOptions, base plugins.Options, log *slog.Logger) (reg *plugin.Registry, closeAll func(), err error) {
	cluster, err := clusterCounters(ctx, o.CountersTable, log)
	if err != nil {
		return nil, nil, err
	}
	cache := proxycache.NewStore()
	if o.ProxyCacheAPI {
		if o.mounts == nil {
			o.mounts = map[string]http.Handler{}
		}
		o.mounts["/proxy-cache"] = cache.API()
	}
	redises := counters.NewRedises()
	base.ProxyCache, base.Redis, base.Cluster, base.AWS = cache, redises, cluster, pluginAWS(log)
	base.Log = log.With("component", "plugins")
	reg = plugins.RegistryWith(base)
	return reg, func() {
		if cluster != nil {
			cluster.Close()
		}
		_ = redises.Close()
	}, nil
}

// pluginAWS is the data plane's Region and credentials for the
// aws-lambda plugin: AWS_REGION (or AWS_DEFAULT_REGION), and the SDK's
// default chain (the ECS task role on AWS), loaded when first needed so
// a data plane without aws-lambda never asks for them.
func pluginAWS(log *slog.Logger) awslambda.AWS {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	return awslambda.AWS{Region: region, Credentials: aws.NewCredentialsCache(&lazyCredentials{log: log})}
}

// lazyCredentials loads the SDK's default configuration on the first
// Retrieve and hands out its credentials.
type lazyCredentials struct {
	log  *slog.Logger
	once sync.Once
	p    aws.CredentialsProvider
	err  error
}

func (l *lazyCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	l.once.Do(func() {
		cfg, err := awsconfig.Load(ctx, l.log)
		if err != nil {
			l.err = err
			return
		}
		if cfg.Credentials == nil {
			l.err = awsconfig.ErrNoCredentials
			return
		}
		l.p = cfg.Credentials
	})
	if l.err != nil {
		return aws.Credentials{}, fmt.Errorf("loading the data plane's AWS credentials: %w", l.err)
	}
	return l.p.Retrieve(ctx)
}

// clusterCounters opens the cluster policy's counter table (--counters-table);
// nil when none is set.
func clusterCounters(ctx context.Context, table string, log *slog.Logger) (*counters.Cluster, error) {
	if table == "" {
		return nil, nil
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("--counters-table: %w", err)
	}
	if err := awsconfig.Check(ctx, cfg); err != nil {
		return nil, fmt.Errorf("--counters-table %s: %w", table, err)
	}
	db := counters.NewDynamoDB(dynamodb.NewFromConfig(cfg), table, nil)
	return counters.NewCluster(db, log.With("component", "counters")), nil
}
