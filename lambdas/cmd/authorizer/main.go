// Command authorizer is the WebSocket API's REQUEST authorizer on
// $connect: it admits data planes that present the data-plane token.
//
// Environment:
//
//	SKYPORT_DP_TOKEN_SECRET  Secrets Manager id whose value is the token
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/lambdas/authorizer"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	a, err := build(context.Background(), log)
	if err != nil {
		log.Error("starting authorizer", "error", err)
		os.Exit(1)
	}
	lambda.Start(a.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*authorizer.Authorizer, error) {
	id := os.Getenv("SKYPORT_DP_TOKEN_SECRET")
	if id == "" {
		return nil, fmt.Errorf("environment variable SKYPORT_DP_TOKEN_SECRET is required")
	}
	cfg, err := awsconfig.Load(ctx, log)
	if err != nil {
		return nil, err
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return nil, fmt.Errorf("reading secret %s: %w", id, err)
	}
	token := strings.TrimSpace(aws.ToString(out.SecretString))
	if token == "" {
		return nil, fmt.Errorf("secret %s: %w", id, authorizer.ErrNoTokens)
	}
	return authorizer.New(token), nil
}
