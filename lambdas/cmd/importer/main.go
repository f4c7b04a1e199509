// Command importer is the import Lambda: it runs the configuration import
// jobs the Admin API starts (see package imports), invoked
// asynchronously with {"job": id}, and invokes itself to continue a job
// that outlasts one invocation.
//
// Environment:
//
//	SKYPORT_TABLE   the configuration table (required)
//	SKYPORT_BUCKET  s3://bucket/prefix holding the jobs and their uploads (required)
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("starting importer", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*imports.Handler, error) {
	table, bucketURL := os.Getenv("SKYPORT_TABLE"), os.Getenv("SKYPORT_BUCKET")
	if table == "" || bucketURL == "" {
		return nil, errors.New("SKYPORT_TABLE and SKYPORT_BUCKET must be set")
	}
	bucket, prefix, err := objstore.ParseS3URL(bucketURL)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	runner := imports.NewRunner(imports.RunnerOptions{
		Objects: objstore.NewS3(s3.NewFromConfig(cfg), bucket, prefix),
		Store:   dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Logger:  log,
	})
	self := imports.LambdaLauncher{Client: awslambda.NewFromConfig(cfg), Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}
	return &imports.Handler{Runner: runner, Continue: self, Logger: log}, nil
}
