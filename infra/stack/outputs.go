package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/fleet"
)

// newAlarms watches the publisher, its failure queue, and data planes that
// report a rejected configuration (a metric filter on the cluster
// function's JSON logs: {"msg":"dp status","state":"rejected"}).
func newAlarms(s awscdk.Stack, publisher, cluster *function, d *data) {
	awscloudwatch.NewAlarm(s, jsii.String("PublisherErrors"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("The publisher Lambda failed: configuration changes are not reaching data planes"),
		Metric:             publisher.fn.MetricErrors(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	awscloudwatch.NewAlarm(s, jsii.String("PublisherDeadLetters"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("Stream batches the publisher gave up on"),
		Metric:             d.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	logAlarm(s, publisher.log, "RefusedRevisions", `{ $.msg = "revision refused" }`,
		"The publisher refused a revision a data plane would reject: data planes stay on the last good revision (GET /config/revisions/{rev} says why)")
	logAlarm(s, publisher.log, "RolloutHalts", `{ $.msg = "rollout halted" }`,
		"A staged rollout halted: the waves that took the revision are rolled back to the last good one (GET /config/rollouts says why)")
	mf := awslogs.NewMetricFilter(s, jsii.String("RejectedApplies"), &awslogs.MetricFilterProps{
		LogGroup:        cluster.log,
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(`{ $.state = "rejected" }`)),
		MetricNamespace: jsii.String("Skyport"),
		MetricName:      jsii.String("RejectedApplies"),
		MetricValue:     jsii.String("1"),
	})
	awscloudwatch.NewAlarm(s, jsii.String("DataPlanesRejecting"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A data plane refused a published configuration"),
		Metric: mf.Metric(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

func newOutputs(s awscdk.Stack, p *Props, d *data, k *keys, a *apis, f *fleet.Fleet) {
	output := func(id string, v *string, desc string) {
		awscdk.NewCfnOutput(s, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	output("AdminApiUrl", a.admin.ApiEndpoint(), "Admin API (Kong-compatible) URL")
	output("WebSocketUrl", a.stage.Url(), "data planes connect here (--cp-url)")
	output("ManagementEndpoint", a.stage.CallbackUrl(), "API Gateway management endpoint the publisher posts to")
	output("BucketName", d.bucket.BucketName(), "snapshot bucket")
	output("FallbackUrl", awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), d.bucket.BucketName(), jsii.String("/" + p.SnapshotPrefix)}), "--fallback-url for data planes")
	output("VerifyKey", k.verifyKeys, "--verify-key for data planes: the publisher's Ed25519 public keys, base64, comma-separated (two while the key rotates)")
	output("SigningKeyId", k.keyID, "names the key the publisher signs with")
	if k.admin != nil {
		output("AdminTokenSecret", k.admin.SecretArn(), "secret holding the Admin API token")
	}
	if k.dataPlane != nil {
		output("DataPlaneTokenSecret", k.dataPlane.SecretArn(), "secret holding the data-plane token (--cp-token)")
	}
	if f != nil {
		output("DataPlaneEndpoint", f.LoadBalancer.LoadBalancerDnsName(), "the data planes' load balancer (ports 80 and 443)")
	}
}

// logAlarm counts the log lines of group matching pattern as the metric
// Skyport/<name> and alarms on any.
func logAlarm(s awscdk.Stack, group awslogs.ILogGroup, name, pattern, desc string) {
	mf := awslogs.NewMetricFilter(s, jsii.String(name+"Filter"), &awslogs.MetricFilterProps{
		LogGroup:        group,
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(pattern)),
		MetricNamespace: jsii.String("Skyport"),
		MetricName:      jsii.String(name),
		MetricValue:     jsii.String("1"),
	})
	awscloudwatch.NewAlarm(s, jsii.String(name), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(desc),
		Metric: mf.Metric(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}
