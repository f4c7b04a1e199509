// Command keygen is the Lambda behind the stack's signing-key custom
// resource (see package keygen).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/lambdas/keygen"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("keygen: loading AWS configuration: %v", err)
	}
	h := &keygen.Handler{Secrets: secretsmanager.NewFromConfig(cfg)}
	lambda.Start(h.Handle)
}
