package stack

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// Access log lines, one JSON object per request or WebSocket event. They
// name the caller and what it did; no header, token or body is logged.
var (
	httpAccessLog = map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "caller": "$context.identity.userArn",
		"time": "$context.requestTimeEpoch", "method": "$context.httpMethod", "path": "$context.path",
		"status": "$context.status", "length": "$context.responseLength", "latency": "$context.responseLatency",
		"error": "$context.error.message", "integrationError": "$context.integrationErrorMessage",
	}
	wsAccessLog = map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "caller": "$context.identity.userArn",
		"time": "$context.requestTimeEpoch", "eventType": "$context.eventType", "routeKey": "$context.routeKey",
		"connectionId": "$context.connectionId", "status": "$context.status", "error": "$context.error.message",
		"authorizeError": "$context.authorize.error", "integrationError": "$context.integrationErrorMessage",
	}
)

// accessLogs sends a stage's access logs to a new log group.
func accessLogs(s awscdk.Stack, id string, stage awsapigatewayv2.IStage, format map[string]string) {
	group := awslogs.NewLogGroup(s, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_THREE_MONTHS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	f, _ := json.Marshal(format)
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: group.LogGroupArn(),
		Format:         jsii.String(string(f)),
	})
}

// apiGatewayLogRole sets API Gateway's account-level CloudWatch Logs role
// in this Region, which WebSocket APIs need to write access logs. Both are
// retained: other APIs of the account may rely on the setting.
func apiGatewayLogRole(s awscdk.Stack) constructs.IConstruct {
	role := awsiam.NewRole(s, jsii.String("ApiGatewayLogRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		Description: jsii.String("API Gateway's account-level role for writing logs to CloudWatch Logs"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
			"logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents"),
		Resources: jsii.Strings("*"),
	}))
	role.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	nag.Suppress(role, "IAM5", "API Gateway's account-level logging role serves every API of the account in this Region and "+
		"writes to log groups API Gateway names itself; these are the actions of AWS's AmazonAPIGatewayPushToCloudWatchLogs, inline",
		`/^Resource::\*$/`)
	account := awsapigateway.NewCfnAccount(s, jsii.String("ApiGatewayAccount"), &awsapigateway.CfnAccountProps{
		CloudWatchRoleArn: role.RoleArn(),
	})
	account.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	return account
}
