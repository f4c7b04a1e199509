// Command admin is the Admin API Lambda behind the API Gateway HTTP API:
// Kong's Admin API over the DynamoDB configuration table.
//
// Environment:
//
//	SKYPORT_TABLE               the configuration table (required)
//	SKYPORT_CLUSTER_TABLE       the cluster table, for GET /clustering/data-planes (optional)
//	SKYPORT_BUCKET              s3://bucket/prefix of the snapshots, for /config/revisions and the rollout (optional)
//	SKYPORT_HISTORY_MAX_REVISIONS, SKYPORT_HISTORY_MAX_AGE  the history's retention (default 1000, 2160h)
//	SKYPORT_ROLLOUT_POLICY      the staged rollout's default policy, JSON (optional)
//	SKYPORT_IMPORT_FUNCTION     the import Lambda, for /config/imports (optional; needs SKYPORT_BUCKET)
//	SKYPORT_ADMIN_TOKEN_SECRET  Secrets Manager id of the admin token (optional: without
//	                            it the API relies on API Gateway's own authorization)
//
// The token is read once, at cold start; only its SHA-256 is kept.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/admin/apigw"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/rollout"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("starting admin api", "error", err)
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(h))
}

func build(ctx context.Context, log *slog.Logger) (*admin.Handler, error) {
	table := os.Getenv("SKYPORT_TABLE")
	if table == "" {
		return nil, errors.New("SKYPORT_TABLE is not set")
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(cfg)
	opts := admin.Options{
		Store:    dynamo.New(ddb, table),
		NodeID:   uuid.NewString(),
		Hostname: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Database: "dynamodb",
		Logger:   log,
	}
	if t := os.Getenv("SKYPORT_CLUSTER_TABLE"); t != "" {
		opts.DataPlanes = cluster.NewDynamo(ddb, t, nil)
	}
	if b := os.Getenv("SKYPORT_BUCKET"); b != "" {
		bucket, prefix, err := objstore.ParseS3URL(b)
		if err != nil {
			return nil, err
		}
		ret, err := history.ParseRetention(os.Getenv("SKYPORT_HISTORY_MAX_REVISIONS"), os.Getenv("SKYPORT_HISTORY_MAX_AGE"))
		if err != nil {
			return nil, err
		}
		objects := objstore.NewS3(s3.NewFromConfig(cfg), bucket, prefix)
		opts.History = history.New(objects, ret, nil)
		def, err := rollout.PolicyFromEnv(os.Getenv("SKYPORT_ROLLOUT_POLICY"))
		if err != nil {
			return nil, err
		}
		opts.Rollouts = rollout.New(rollout.Options{Objects: objects, History: opts.History, Default: def, Logger: log})
		if fn := os.Getenv("SKYPORT_IMPORT_FUNCTION"); fn != "" {
			opts.Imports = imports.NewJobs(imports.Options{
				Objects: objects, Presigner: objects,
				Launcher: imports.LambdaLauncher{Client: awslambda.NewFromConfig(cfg), Function: fn},
			})
		}
	}
	if id := os.Getenv("SKYPORT_ADMIN_TOKEN_SECRET"); id != "" {
		token, err := adminToken(ctx, secretsmanager.NewFromConfig(cfg), id)
		if err != nil {
			return nil, err
		}
		opts.TokenHash = admin.HashToken(token)
	}
	return admin.New(opts), nil
}

// adminToken reads the token: the secret string itself, or its "token"
// field when it is a JSON object. The token never appears in an error.
func adminToken(ctx context.Context, sm *secretsmanager.Client, id string) (string, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("reading admin token secret %s: %w", id, err)
	}
	s := strings.TrimSpace(aws.ToString(out.SecretString))
	var wrapped struct {
		Token string `json:"token"`
	}
	if strings.HasPrefix(s, "{") && json.Unmarshal([]byte(s), &wrapped) == nil {
		s = wrapped.Token
	}
	if s == "" {
		return "", fmt.Errorf("admin token secret %s is empty", id)
	}
	return s, nil
}
