// Command publisher is the Lambda behind the store's DynamoDB stream: it
// publishes the newest revision as a signed snapshot in S3 and notifies
// the connected data planes. The stack's EventBridge rule invokes it
// every minute to step the staged rollout.
//
// Environment:
//
//	SKYPORT_TABLE               the configuration table
//	SKYPORT_CLUSTER_TABLE       the cluster table (connections, data planes)
//	SKYPORT_BUCKET              s3://bucket/prefix of the snapshots
//	SKYPORT_SIGNING_KEY_SECRET  Secrets Manager id of the signing key (package keygen's Secret)
//	SKYPORT_SIGNING_KEY_ID      the key id the stack expects (optional; a mismatch is logged)
//	SKYPORT_WS_ENDPOINT         https management endpoint of the WebSocket stage
//	SKYPORT_HISTORY_MAX_REVISIONS, SKYPORT_HISTORY_MAX_AGE  the history's retention (default 1000, 2160h)
//	SKYPORT_FULL_EVERY, SKYPORT_FULL_RATIO, SKYPORT_FULL_MAX_AGE  the full-snapshot schedule (default 16, 0.25, 6h; publisher.ParseSchedule)
//	SKYPORT_ROLLOUT_POLICY      the staged rollout's default policy, JSON (optional)
package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/keygen"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/rollout"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	p, err := build(context.Background(), log)
	if err != nil {
		log.Error("starting publisher", "error", err)
		os.Exit(1)
	}
	lambda.Start(p.HandleInvoke)
}

func build(ctx context.Context, log *slog.Logger) (*publisher.Publisher, error) {
	env, err := required("SKYPORT_TABLE", "SKYPORT_CLUSTER_TABLE", "SKYPORT_BUCKET", "SKYPORT_SIGNING_KEY_SECRET", "SKYPORT_WS_ENDPOINT")
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	bucket, prefix, err := objstore.ParseS3URL(env["SKYPORT_BUCKET"])
	if err != nil {
		return nil, err
	}
	secret, err := keygen.ReadSecret(ctx, secretsmanager.NewFromConfig(cfg), env["SKYPORT_SIGNING_KEY_SECRET"])
	if err != nil {
		return nil, err
	}
	key, err := secret.SigningKey()
	if err != nil {
		return nil, err
	}
	id := keygen.KeyID(key.Public().(ed25519.PublicKey))
	if want := os.Getenv("SKYPORT_SIGNING_KEY_ID"); want != "" && want != id {
		log.Warn("the signing key is not the one the stack names: a rotation is under way", "key_id", id, "expected", want)
	}
	log.Info("signing key", "key_id", id)
	ret, err := history.ParseRetention(os.Getenv("SKYPORT_HISTORY_MAX_REVISIONS"), os.Getenv("SKYPORT_HISTORY_MAX_AGE"))
	if err != nil {
		return nil, err
	}
	every, ratio, maxAge, err := publisher.ParseSchedule(os.Getenv("SKYPORT_FULL_EVERY"), os.Getenv("SKYPORT_FULL_RATIO"), os.Getenv("SKYPORT_FULL_MAX_AGE"))
	if err != nil {
		return nil, err
	}
	def, err := rollout.PolicyFromEnv(os.Getenv("SKYPORT_ROLLOUT_POLICY"))
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(cfg)
	objects := objstore.NewS3(s3.NewFromConfig(cfg), bucket, prefix)
	mgmt := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(env["SKYPORT_WS_ENDPOINT"])
	})
	src := dynamo.New(ddb, env["SKYPORT_TABLE"])
	registry := cluster.NewDynamo(ddb, env["SKYPORT_CLUSTER_TABLE"], nil)
	hist := history.New(objects, ret, nil)
	return publisher.New(publisher.Options{
		Source:      src,
		Objects:     objects,
		Key:         key,
		Notifier:    cluster.NewManagementNotifier(mgmt),
		Connections: registry,
		Presigner:   objects,
		History:     hist,
		Validator:   preflight.New(),
		MinInterval: publisher.DefaultMinInterval,
		FullEvery:   every, FullRatio: ratio, FullMaxAge: maxAge,
		Rollout: rollout.New(rollout.Options{
			Objects: objects, History: hist, Nodes: registry, Restorer: rollout.StoreRestorer(src), Default: def, Logger: log,
		}),
		Logger: log,
	}), nil
}

// required returns the named environment variables, all of which must be set.
func required(names ...string) (map[string]string, error) {
	env := make(map[string]string, len(names))
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is required", n)
		}
		env[n] = v
	}
	return env, nil
}
