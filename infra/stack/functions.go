package stack

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// function is one Go Lambda: provided.al2023 on arm64, code from
// <LambdaDir>/<name>/bootstrap, its own log group and a role that may only
// write to it (no managed policy) until grants add what it uses.
type function struct {
	fn   awslambda.Function
	log  awslogs.LogGroup
	role awsiam.Role
}

func newFunction(scope constructs.Construct, id, name string, p *Props, env map[string]*string, timeout float64) *function {
	return newSizedFunction(scope, id, name, p, env, timeout, defaultMemoryMiB)
}

// defaultMemoryMiB is a function's memory unless it needs more.
const defaultMemoryMiB = 256

// PublisherMemoryMiB is the publisher function's memory: it holds the
// configuration it published last (about 230 MB at a million entities,
// packed), and a new instance reads it back from the full snapshot and
// compiles it whole before its first publication (BENCHMARKS.md, "One
// write → published").
const PublisherMemoryMiB = 1024

// PublisherMemoryLimit is the publisher's GOMEMLIMIT: the Go runtime
// collects harder as its heap nears it rather than growing it to twice
// what is live (GOGC), leaving the rest of the function's memory to the
// runtime, the binary and the stacks.
const PublisherMemoryLimit = "900MiB"

func newSizedFunction(scope constructs.Construct, id, name string, p *Props, env map[string]*string, timeout, memoryMiB float64) *function {
	log := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Skyport " + name + " function"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{log.LogGroupArn()},
	}))
	nag.Suppress(role, "IAM5", "log streams are created by Lambda under the function's own log group, with names it chooses",
		`/^Resource::<`+id+`Logs[0-9A-F]{8}\.Arn>:\*$/`)
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(p.LambdaDir, name)), nil),
		MemorySize:    jsii.Number(memoryMiB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(timeout)),
		Environment:   &env,
		LogGroup:      log,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Role:          role,
	})
	return &function{fn: fn, log: log, role: role}
}
