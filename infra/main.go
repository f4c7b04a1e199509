// Command infra is Skyport's CDK app: `cdk deploy` (cdk.json at the
// repository root runs it) or `make synth`. It is the only place that reads
// the environment; the stack takes everything through its Props.
//
//	SKYPORT_LAMBDA_DIR   Lambda bootstraps from `make build` (default ../bin/lambda)
//	SKYPORT_ADMIN_AUTH   iam (default) or token
//	SKYPORT_DP_AUTH      iam (default) or token
//	SKYPORT_DP           "false" to deploy the control plane without a data-plane fleet
//	SKYPORT_DP_IMAGE     an image reference for the fleet; default: build the image asset
//	SKYPORT_ROLLOUT_POLICY  the staged rollout's policy, JSON (PUT /config/rollout-policy's body)
//	                     from ../bin/image/linux-arm64 (make image-files ARCH=arm64)
//	SKYPORT_KEY_ROTATION the signing key's rotation phase: none (default), prepare, promote
//	SKYPORT_APIGW_LOG_ROLE "existing" to keep the account's API Gateway CloudWatch Logs role
//	CDK_OUTDIR           where to write the cloud assembly (default cdk.out)
//
// cdk-nag's AwsSolutions pack checks the app at every synthesis; its
// report is written into the assembly.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
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
		LambdaDir:                 env("SKYPORT_LAMBDA_DIR", filepath.Join(root, "bin", "lambda")),
		AdminAuth:                 env("SKYPORT_ADMIN_AUTH", stack.AuthIAM),
		DataPlaneAuth:             env("SKYPORT_DP_AUTH", stack.AuthIAM),
		SigningKeyRotation:        os.Getenv("SKYPORT_KEY_ROTATION"),
		ExistingAPIGatewayLogRole: os.Getenv("SKYPORT_APIGW_LOG_ROLE") == "existing",
		RolloutPolicy:             os.Getenv("SKYPORT_ROLLOUT_POLICY"),
	}
	for _, name := range []string{"admin", "publisher", "cluster", "authorizer", "keygen"} {
		if _, err := os.Stat(filepath.Join(props.LambdaDir, name, "bootstrap")); err != nil {
			return fmt.Errorf("%s has no %s/bootstrap: run 'make build' at the repository root", props.LambdaDir, name)
		}
	}
	if os.Getenv("CDK_DEFAULT_ACCOUNT") == "" {
		props.Env = nil
	}
	if env("SKYPORT_DP", "true") != "false" {
		dp := &stack.DataPlaneProps{Image: os.Getenv("SKYPORT_DP_IMAGE"), ImageDir: filepath.Join(root, "bin", "image", "linux-arm64")}
		if dp.Image == "" {
			for _, f := range []string{"Dockerfile", "skyport"} {
				if _, err := os.Stat(filepath.Join(dp.ImageDir, f)); err != nil {
					return fmt.Errorf("%s has no %s: run 'make image-files ARCH=arm64' at the repository root (or set SKYPORT_DP_IMAGE, or SKYPORT_DP=false)", dp.ImageDir, f)
				}
			}
		}
		props.DataPlane = dp
	}
	if _, err := stack.New(app, env("SKYPORT_STACK_NAME", "Skyport"), props); err != nil {
		return err
	}
	nag.Check(app)
	app.Synth(nil)
	return nil
}
