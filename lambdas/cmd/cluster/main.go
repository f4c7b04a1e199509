// Command cluster is the Lambda behind the WebSocket API's routes
// ($connect, $disconnect, hello, status, $default).
//
// Environment:
//
//	SKYPORT_CLUSTER_TABLE  the cluster table (connections, data planes)
//	SKYPORT_BUCKET         s3://bucket/prefix of the snapshots
//	SKYPORT_WS_ENDPOINT    https management endpoint of the WebSocket stage
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("starting cluster handler", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*cluster.Handler, error) {
	env := map[string]string{}
	for _, n := range []string{"SKYPORT_CLUSTER_TABLE", "SKYPORT_BUCKET", "SKYPORT_WS_ENDPOINT"} {
		if env[n] = os.Getenv(n); env[n] == "" {
			return nil, fmt.Errorf("environment variable %s is required", n)
		}
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	bucket, prefix, err := objstore.ParseS3URL(env["SKYPORT_BUCKET"])
	if err != nil {
		return nil, err
	}
	objects := objstore.NewS3(s3.NewFromConfig(cfg), bucket, prefix)
	mgmt := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(env["SKYPORT_WS_ENDPOINT"])
	})
	return cluster.NewHandler(cluster.HandlerOptions{
		Registry:  cluster.NewDynamo(dynamodb.NewFromConfig(cfg), env["SKYPORT_CLUSTER_TABLE"], nil),
		Objects:   objects,
		Notifier:  cluster.NewManagementNotifier(mgmt),
		Presigner: objects,
		Logger:    log,
	}), nil
}
