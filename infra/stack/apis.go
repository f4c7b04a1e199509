package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// stageName is the WebSocket API's one stage.
const stageName = "live"

// apis holds the Admin HTTP API and the data planes' WebSocket API.
type apis struct {
	admin      awsapigatewayv2.HttpApi
	ws         awsapigatewayv2.WebSocketApi
	stage      awsapigatewayv2.WebSocketStage
	connectArn *string
}

func newAPIs(s awscdk.Stack, p *Props, admin, cluster, authorizer awslambda.IFunction) *apis {
	a := &apis{}
	var adminAuth awsapigatewayv2.IHttpRouteAuthorizer
	if p.AdminAuth == AuthIAM {
		adminAuth = awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	}
	a.admin = awsapigatewayv2.NewHttpApi(s, jsii.String("AdminApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Skyport Admin API (Kong-compatible)"),
		DefaultIntegration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Admin"), admin, nil),
		DefaultAuthorizer:  adminAuth,
	})
	if adminAuth == nil {
		nag.Suppress(a.admin, "APIG4", "with SKYPORT_ADMIN_AUTH=token the admin function authorizes every request itself: "+
			"a bearer token compared (by SHA-256, in constant time) with the one in Secrets Manager; without it Kong's 401")
	}

	integration := func(id string) awsapigatewayv2.WebSocketRouteIntegration {
		return awsapigatewayv2integrations.NewWebSocketLambdaIntegration(jsii.String("Cluster"+id+"Integration"), cluster, nil)
	}
	var connectAuth awsapigatewayv2.IWebSocketRouteAuthorizer
	if p.DataPlaneAuth == AuthIAM {
		connectAuth = awsapigatewayv2authorizers.NewWebSocketIamAuthorizer()
	} else {
		connectAuth = awsapigatewayv2authorizers.NewWebSocketLambdaAuthorizer(jsii.String("TokenAuthorizer"), authorizer,
			&awsapigatewayv2authorizers.WebSocketLambdaAuthorizerProps{
				IdentitySource: jsii.Strings("route.request.header.Authorization"),
			})
	}
	a.ws = awsapigatewayv2.NewWebSocketApi(s, jsii.String("ClusterApi"), &awsapigatewayv2.WebSocketApiProps{
		Description:              jsii.String("Skyport data-plane connections"),
		RouteSelectionExpression: jsii.String("$request.body.action"),
		ConnectRouteOptions:      &awsapigatewayv2.WebSocketRouteOptions{Integration: integration("Connect"), Authorizer: connectAuth},
		DisconnectRouteOptions:   &awsapigatewayv2.WebSocketRouteOptions{Integration: integration("Disconnect")},
		DefaultRouteOptions:      &awsapigatewayv2.WebSocketRouteOptions{Integration: integration("Default")},
	})
	a.ws.AddRoute(jsii.String("hello"), &awsapigatewayv2.WebSocketRouteOptions{Integration: integration("Hello")})
	a.ws.AddRoute(jsii.String("status"), &awsapigatewayv2.WebSocketRouteOptions{Integration: integration("Status")})
	for _, route := range []string{"$disconnect-Route", "$default-Route", "hello-Route", "status-Route"} {
		nag.Suppress(a.ws.Node().FindChild(jsii.String(route)), "APIG4", "a WebSocket API authorizes a connection once, at $connect "+
			"(IAM or the token authorizer); API Gateway routes a connection's messages only after $connect allowed it")
	}
	a.stage = awsapigatewayv2.NewWebSocketStage(s, jsii.String("ClusterStage"), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: a.ws,
		StageName:    jsii.String(stageName),
		AutoDeploy:   jsii.Bool(true),
	})
	accessLogs(s, "AdminApiAccessLogs", a.admin.DefaultStage(), httpAccessLog)
	accessLogs(s, "ClusterApiAccessLogs", a.stage, wsAccessLog)
	if !p.ExistingAPIGatewayLogRole {
		a.stage.Node().AddDependency(apiGatewayLogRole(s))
	}
	a.connectArn = awscdk.Stack_Of(s).FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("execute-api"),
		Resource:     a.ws.ApiId(),
		ResourceName: jsii.String(stageName + "/$connect"),
	})
	return a
}
