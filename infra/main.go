// Command infra is Skyport's CDK app: `cdk deploy` (cdk.json at the
// repository root runs it) or `make synth`. It is the only place that reads
// the environment; the stack takes everything through its Props.
//
//	SKYPORT_LAMBDA_DIR   Lambda bootstraps from `make build` (default ../bin/lambda)
//	SKYPORT_ADMIN_AUTH   iam (default) or token
//	SKYPORT_DP_AUTH      iam (default) or token
//	SKYPORT_DP           "false" to deploy the control plane without a data-plane fleet
//	SKYPORT_DP_IMAGE     an image reference for the fleet; default: build dataplane/Dockerfile
//	CDK_OUTDIR           where to write the cloud assembly (default cdk.out)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/skyport-gw/skyport/infra/stack"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(env("CDK_OUTDIR", "cdk.out"))})
	props := &stack.Props{
		StackProps: awscdk.StackProps{
			Env: &awscdk.Environment{
				Account: jsii.String(os.Getenv("CDK_DEFAULT_ACCOUNT")),
				Region:  jsii.String(os.Getenv("CDK_DEFAULT_REGION")),
			},
			Description: jsii.String("Skyport: serverless API gateway control plane and data planes"),
		},
		LambdaDir:     env("SKYPORT_LAMBDA_DIR", filepath.Join(root, "bin", "lambda")),
		AdminAuth:     env("SKYPORT_ADMIN_AUTH", stack.AuthIAM),
		DataPlaneAuth: env("SKYPORT_DP_AUTH", stack.AuthIAM),
	}
	if os.Getenv("CDK_DEFAULT_ACCOUNT") == "" {
		props.Env = nil
	}
	if env("SKYPORT_DP", "true") != "false" {
		props.DataPlane = &stack.DataPlaneProps{Image: os.Getenv("SKYPORT_DP_IMAGE"), ImageDir: root}
	}
	if _, err := stack.New(app, env("SKYPORT_STACK_NAME", "Skyport"), props); err != nil {
		return err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(true), Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}
