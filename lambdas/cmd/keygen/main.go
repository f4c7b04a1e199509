// Command keygen is the Lambda behind the stack's signing-key custom
// resource (see package keygen). CloudFormation invokes it directly; its
// answer is PUT to the event's presigned response URL.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/lambdas/keygen"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("starting keygen", "error", err)
		os.Exit(1)
	}
	lambda.Start(cfn.LambdaWrap(h.Handle))
}

func build(ctx context.Context, log *slog.Logger) (*keygen.Handler, error) {
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	return &keygen.Handler{Secrets: secretsmanager.NewFromConfig(cfg), Logger: log}, nil
}
