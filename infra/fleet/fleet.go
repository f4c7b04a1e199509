// Package fleet is a reusable CDK construct for a fleet of Skyport data
// planes on ECS Fargate behind a network load balancer (TCP 80 and 443, so
// TLS terminates on the data planes). A user's own CDK app can add fleets
// next to the Skyport stack with it.
package fleet

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// Ports of the data plane container (Kong's).
const (
	ProxyPort    = 8000
	ProxyTLSPort = 8443
	StatusPort   = 8100
)

// Props configures a fleet.
type Props struct {
	// Vpc to run in; a new two-AZ VPC with public subnets and no NAT
	// gateway (tasks get public addresses) when nil.
	Vpc awsec2.IVpc
	// Image is the data plane image.
	Image awsecs.ContainerImage
	// CPURL is the WebSocket stage URL (wss://…).
	CPURL *string
	// CPAuth is "iam" or "token"; CPToken is the token secret for "token".
	CPAuth  string
	CPToken awssecretsmanager.ISecret
	// ConnectArn is the execute-api ARN of the $connect route, which the
	// task role may invoke with SigV4 ("iam").
	ConnectArn *string
	// Bucket and SnapshotPrefix locate the snapshots (read-only access).
	Bucket         awss3.IBucket
	SnapshotPrefix string
	// VerifyKey is the publisher's public key.
	VerifyKey *string
	// Counters is the rate-limiting plugins' counter table (the cluster
	// policy); the task role may read and increment its items only. Nil
	// leaves the cluster policy unavailable.
	Counters awsdynamodb.ITable
	// Counts, task size and the CPU scaling target; see defaults in New.
	DesiredCount, MinCount, MaxCount, CPU, MemoryMiB, TargetCPU float64
}

// Fleet is the deployed data-plane service.
type Fleet struct {
	Service      awsecs.FargateService
	LoadBalancer elb.NetworkLoadBalancer
	TaskRole     awsiam.Role
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// New adds a fleet to scope.
func New(scope constructs.Construct, id string, p *Props) *Fleet {
	c := constructs.NewConstruct(scope, jsii.String(id))
	vpc := p.Vpc
	if vpc == nil {
		vpc = awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
			MaxAzs:      jsii.Number(2),
			NatGateways: jsii.Number(0),
			SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
				{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			},
		})
		// Flow logs: every connection to and from the data planes,
		// accepted or rejected, kept a month.
		awsec2.NewFlowLog(c, jsii.String("FlowLogs"), &awsec2.FlowLogProps{
			ResourceType: awsec2.FlowLogResourceType_FromVpc(vpc),
			Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(awslogs.NewLogGroup(c, jsii.String("FlowLogGroup"), &awslogs.LogGroupProps{
				Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
			}), nil),
			TrafficType: awsec2.FlowLogTrafficType_ALL,
		})
	}
	f := &Fleet{}
	f.TaskRole = awsiam.NewRole(c, jsii.String("TaskRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil),
		Description: jsii.String("Skyport data plane: read snapshots, connect to the control plane"),
	})
	f.TaskRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{p.Bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/*"))},
	}))
	nag.Suppress(f.TaskRole, "IAM5", "data planes read the snapshots under the prefix, named by revision; nothing outside it",
		`/^Resource::<[A-Za-z0-9]+\.Arn>\/`+p.SnapshotPrefix+`\/\*$/`)
	if p.Counters != nil {
		f.TaskRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("dynamodb:UpdateItem", "dynamodb:BatchGetItem"),
			Resources: &[]*string{p.Counters.TableArn()},
		}))
	}
	if p.CPAuth == "iam" {
		f.TaskRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("execute-api:Invoke"),
			Resources: &[]*string{p.ConnectArn},
		}))
	}

	task := awsecs.NewFargateTaskDefinition(c, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(orDefault(p.CPU, 512)),
		MemoryLimitMiB: jsii.Number(orDefault(p.MemoryMiB, 1024)),
		TaskRole:       f.TaskRole,
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	env := map[string]*string{
		"SKYPORT_CP_URL":       p.CPURL,
		"SKYPORT_CP_AUTH":      jsii.String(p.CPAuth),
		"SKYPORT_FALLBACK_URL": awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), p.Bucket.BucketName(), jsii.String("/" + p.SnapshotPrefix)}),
		"SKYPORT_VERIFY_KEY":   p.VerifyKey,
		"SKYPORT_CACHE_DIR":    jsii.String("/var/lib/skyport"),
		// The load balancer's health checks reach the status API on the
		// task's interface (it listens on loopback by default).
		"SKYPORT_STATUS_LISTEN": jsii.String(fmt.Sprintf("0.0.0.0:%d", StatusPort)),
		"AWS_REGION":            awscdk.Stack_Of(c).Region(),
	}
	if p.Counters != nil {
		env["SKYPORT_COUNTERS_TABLE"] = p.Counters.TableName()
	}
	nag.Suppress(task, "ECS2", "the environment holds no secret: the control plane's URLs, the cache directory, the Region "+
		"and the publisher's public keys; the data-plane token comes from Secrets Manager as a container secret")
	var secrets map[string]awsecs.Secret
	if p.CPAuth == "token" && p.CPToken != nil {
		secrets = map[string]awsecs.Secret{"SKYPORT_CP_TOKEN": awsecs.Secret_FromSecretsManager(p.CPToken, nil)}
	}
	task.AddContainer(jsii.String("dp"), &awsecs.ContainerDefinitionOptions{
		Image:       p.Image,
		Command:     jsii.Strings("dp"),
		Environment: &env,
		Secrets:     &secrets,
		Logging: awsecs.LogDrivers_AwsLogs(&awsecs.AwsLogDriverProps{
			StreamPrefix: jsii.String("dp"),
			LogRetention: awslogs.RetentionDays_ONE_MONTH,
		}),
		PortMappings: &[]*awsecs.PortMapping{
			{ContainerPort: jsii.Number(ProxyPort)},
			{ContainerPort: jsii.Number(ProxyTLSPort)},
			{ContainerPort: jsii.Number(StatusPort)},
		},
		HealthCheck: &awsecs.HealthCheck{
			Command:     jsii.Strings("CMD", "/skyport", "health"),
			Interval:    awscdk.Duration_Seconds(jsii.Number(10)),
			StartPeriod: awscdk.Duration_Seconds(jsii.Number(30)),
		},
		StopTimeout: awscdk.Duration_Seconds(jsii.Number(40)),
	})
	nag.Suppress(task, "IAM5", "ECR's GetAuthorizationToken has no resource-level permissions; the execution role pulls the image "+
		"and writes the container's logs", `/^Resource::\*$/`)

	cluster := awsecs.NewCluster(c, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})
	sg := awsec2.NewSecurityGroup(c, jsii.String("TaskSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: vpc, Description: jsii.String("Skyport data planes"), AllowAllOutbound: jsii.Bool(true),
	})
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(ProxyPort)), jsii.String("proxy (through the load balancer, client IPs preserved)"), nil)
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(ProxyTLSPort)), jsii.String("proxy TLS"), nil)
	sg.AddIngressRule(awsec2.Peer_Ipv4(vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(StatusPort)), jsii.String("health checks"), nil)
	nag.Suppress(sg, "EC23", "a public API gateway: the proxy ports (8000, 8443) take clients from anywhere through the internet-facing "+
		"load balancer, which preserves client addresses; the status port is open to the VPC only")
	f.Service = awsecs.NewFargateService(c, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:           cluster,
		TaskDefinition:    task,
		DesiredCount:      jsii.Number(orDefault(p.DesiredCount, 2)),
		AssignPublicIp:    jsii.Bool(p.Vpc == nil),
		SecurityGroups:    &[]awsec2.ISecurityGroup{sg},
		CircuitBreaker:    &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
		MinHealthyPercent: jsii.Number(100),
		VpcSubnets:        &awsec2.SubnetSelection{SubnetType: subnetType(p.Vpc)},
	})
	f.LoadBalancer = elb.NewNetworkLoadBalancer(c, jsii.String("LoadBalancer"), &elb.NetworkLoadBalancerProps{
		Vpc: vpc, InternetFacing: jsii.Bool(true),
	})
	nag.Suppress(f.LoadBalancer, "ELB2", "a network load balancer writes access logs for TLS listeners only; these listeners pass TCP "+
		"through to the data planes, which terminate TLS and log every request themselves, and VPC flow logs record each connection")
	for _, l := range []struct {
		id         string
		port, task float64
	}{{"Http", 80, ProxyPort}, {"Https", 443, ProxyTLSPort}} {
		listener := f.LoadBalancer.AddListener(jsii.String(l.id), &elb.BaseNetworkListenerProps{
			Port: jsii.Number(l.port), Protocol: elb.Protocol_TCP,
		})
		listener.AddTargets(jsii.String(l.id+"Targets"), &elb.AddNetworkTargetsProps{
			Port:     jsii.Number(l.task),
			Protocol: elb.Protocol_TCP,
			Targets: &[]elb.INetworkLoadBalancerTarget{f.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
				ContainerName: jsii.String("dp"), ContainerPort: jsii.Number(l.task),
			})},
			HealthCheck: &elb.HealthCheck{
				Protocol: elb.Protocol_HTTP,
				Port:     jsii.String(strconv.Itoa(StatusPort)),
				Path:     jsii.String("/status/ready"),
				Interval: awscdk.Duration_Seconds(jsii.Number(10)),
			},
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(30)),
		})
	}
	scaling := f.Service.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{
		MinCapacity: jsii.Number(orDefault(p.MinCount, 2)),
		MaxCapacity: jsii.Number(orDefault(p.MaxCount, 10)),
	})
	scaling.ScaleOnCpuUtilization(jsii.String("Cpu"), &awsecs.CpuUtilizationScalingProps{
		TargetUtilizationPercent: jsii.Number(orDefault(p.TargetCPU, 60)),
	})
	return f
}

func subnetType(v awsec2.IVpc) awsec2.SubnetType {
	if v == nil {
		return awsec2.SubnetType_PUBLIC
	}
	return awsec2.SubnetType_PRIVATE_WITH_EGRESS
}
