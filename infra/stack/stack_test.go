package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/fleet"
	"github.com/skyport-gw/skyport/infra/nag"
	"github.com/skyport-gw/skyport/infra/stack"
)

// lambdaDir makes a directory with a placeholder bootstrap per function, as
// `make build` lays them out.
func lambdaDir(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"admin", "publisher", "cluster", "authorizer", "keygen", "importer"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	synthOnce sync.Map // mode → *synthesized
)

type synthesized struct {
	once     sync.Once
	template assertions.Template
	raw      map[string]any
	// nag holds cdk-nag's AwsSolutions errors and warnings.
	nag []string
}

// synth builds the stack once per auth mode and shares the template.
func synth(t *testing.T, auth string) (assertions.Template, map[string]any) {
	t.Helper()
	v, _ := synthOnce.LoadOrStore(auth, &synthesized{})
	s := v.(*synthesized)
	s.once.Do(func() {
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
		st, err := stack.New(app, "Test", &stack.Props{
			LambdaDir:          lambdaDir(t),
			AdminAuth:          auth,
			DataPlaneAuth:      auth,
			DataPlane:          &stack.DataPlaneProps{Image: "skyport:dev"},
			SigningKeyRotation: map[string]string{stack.AuthToken: "prepare"}[auth],
			RolloutPolicy:      map[string]string{stack.AuthToken: rolloutPolicy}[auth],
		})
		if err != nil {
			t.Fatal(err)
		}
		nag.Check(app)
		s.template = assertions.Template_FromStack(st.Stack, nil)
		b, _ := json.Marshal(s.template.ToJSON())
		_ = json.Unmarshal(b, &s.raw)
		ann := assertions.Annotations_FromStack(st.Stack)
		rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))
		//nolint:staticcheck // the type Annotations.FindError returns in this CDK release
		for _, msgs := range [][]*cxapi.SynthesisMessage{*ann.FindError(jsii.String("*"), rule), *ann.FindWarning(jsii.String("*"), rule)} {
			for _, m := range msgs {
				s.nag = append(s.nag, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data)) //nolint:staticcheck // as above
			}
		}
	})
	if s.template == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return s.template, s.raw
}

func props(m map[string]any) *map[string]interface{} {
	out := map[string]interface{}(m)
	return &out
}

func like(v any) assertions.Matcher { return assertions.Match_ObjectLike(props(v.(map[string]any))) }

func TestStateful(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), props(map[string]any{
		"KeySchema": []any{
			map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
			map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
		},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"StreamSpecification":              map[string]any{"StreamViewType": "NEW_IMAGE"},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires_at", "Enabled": true},
	}))
	tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), props(map[string]any{
		"TimeToLiveSpecification": map[string]any{"AttributeName": "expires_at", "Enabled": true},
		"StreamSpecification":     assertions.Match_Absent(),
	}))
	tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), props(map[string]any{
		"KeySchema":               []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "expires", "Enabled": true},
		"SSESpecification":        map[string]any{"SSEEnabled": true},
	}))
	tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), props(map[string]any{
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"BucketEncryption": like(map[string]any{
			"ServerSideEncryptionConfiguration": []any{like(map[string]any{
				"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"},
			})},
		}),
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
		},
		"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]interface{}{
			like(map[string]any{"Prefix": "cp/snapshots/", "ExpirationInDays": 90 + stack.ChainMarginDays, "Status": "Enabled",
				"TagFilters": []any{map[string]any{"Key": stack.SupersededTag, "Value": "true"}}}),
			like(map[string]any{"Prefix": "cp/revisions/", "ExpirationInDays": 90, "Status": "Enabled"}),
			like(map[string]any{"Prefix": "cp/deltas/", "ExpirationInDays": 90 + stack.ChainMarginDays, "Status": "Enabled"}),
		})},
	}))
	tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), props(map[string]any{
		"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600,
	}))
}

func TestBucketPolicy(t *testing.T) {
	_, raw := synth(t, stack.AuthIAM)
	// The snapshot bucket's policy, not the access-log bucket's.
	policy := findOne(t, raw, "AWS::S3::BucketPolicy", "SnapshotsPolicy")
	doc, _ := json.Marshal(policy)
	s := string(doc)
	for _, want := range []string{`"aws:SecureTransport":"false"`, `"OnlyThePublisherWrites"`, `"OnlyThePublisherAndAdminWriteTheRollout"`, `"NotResource"`, `"ArnNotEquals"`, `"aws:PrincipalArn"`} {
		if !strings.Contains(s, want) {
			t.Errorf("bucket policy lacks %s: %s", want, s)
		}
	}
}

func TestFunctions(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	goFn := props(map[string]any{"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap"})
	// admin, cluster, publisher, keygen, importer (no authorizer in IAM mode)
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), goFn, jsii.Number(5))
	tplTok, _ := synth(t, stack.AuthToken)
	tplTok.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), goFn, jsii.Number(6))
	for _, env := range []map[string]any{
		{"SKYPORT_TABLE": assertions.Match_AnyValue(), "SKYPORT_CLUSTER_TABLE": assertions.Match_AnyValue(), "SKYPORT_BUCKET": assertions.Match_AnyValue(),
			"SKYPORT_HISTORY_MAX_REVISIONS": "1000", "SKYPORT_HISTORY_MAX_AGE": "2160h"},
		{"SKYPORT_SIGNING_KEY_SECRET": assertions.Match_AnyValue(), "SKYPORT_WS_ENDPOINT": assertions.Match_AnyValue(), "SKYPORT_BUCKET": assertions.Match_AnyValue(),
			"SKYPORT_HISTORY_MAX_REVISIONS": "1000", "SKYPORT_HISTORY_MAX_AGE": "2160h"},
	} {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), props(map[string]any{
			"Environment": map[string]any{"Variables": like(env)},
		}))
	}
}

// TestImporter: the import function runs up to Lambda's 15 minutes with
// the memory a large kong.yml needs, the Admin API knows it, it may
// invoke itself, and the bucket expires import jobs.
func TestImporter(t *testing.T) {
	tpl, raw := synth(t, stack.AuthIAM)
	tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), props(map[string]any{
		"Timeout": 900, "MemorySize": stack.ImporterMemoryMiB,
		"Environment": map[string]any{"Variables": like(map[string]any{"SKYPORT_TABLE": assertions.Match_AnyValue(), "SKYPORT_BUCKET": assertions.Match_AnyValue()})},
	}))
	tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), props(map[string]any{
		"Environment": map[string]any{"Variables": like(map[string]any{"SKYPORT_IMPORT_FUNCTION": assertions.Match_AnyValue()})},
	}))
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), props(map[string]any{
		"PolicyDocument": like(map[string]any{"Statement": []any{like(map[string]any{
			"Action": "lambda:InvokeFunction", "Effect": "Allow",
			"Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("ImporterFunction")), "Arn"}},
		})}}),
	}))
	tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), props(map[string]any{
		"LifecycleConfiguration": like(map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{like(map[string]any{
			"Id": "expire-imports", "Prefix": "cp/imports/", "ExpirationInDays": stack.ImportDays, "Status": "Enabled",
		})})}),
	}))
	doc, _ := json.Marshal(raw)
	if !strings.Contains(string(doc), `"OnlyTheAdminAndImporterWriteImports"`) {
		t.Error("the bucket policy does not keep the imports folder to the Admin API and the importer")
	}
}

// rolloutPolicy is the token-mode synthesis's RolloutPolicy prop.
const rolloutPolicy = `{"waves":[{"selector":"ring:canary","bake_seconds":60},{"selector":"*"}]}`

func TestRolloutPolicyProp(t *testing.T) {
	tpl, _ := synth(t, stack.AuthToken)
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), props(map[string]any{
		"Environment": map[string]any{"Variables": like(map[string]any{"SKYPORT_ROLLOUT_POLICY": rolloutPolicy})},
	}), jsii.Number(2))
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	if _, err := stack.New(app, "Bad", &stack.Props{LambdaDir: lambdaDir(t), RolloutPolicy: "waves"}); err == nil {
		t.Fatal("a RolloutPolicy that is not JSON was accepted")
	}
}

func TestEventSourceMapping(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), props(map[string]any{
		"StartingPosition":           "TRIM_HORIZON",
		"MaximumRetryAttempts":       10,
		"BisectBatchOnFunctionError": true,
		"ParallelizationFactor":      1,
		"FunctionResponseTypes":      []any{"ReportBatchItemFailures"},
		"DestinationConfig":          map[string]any{"OnFailure": map[string]any{"Destination": assertions.Match_AnyValue()}},
		"FilterCriteria": map[string]any{"Filters": []any{
			map[string]any{"Pattern": `{"dynamodb":{"Keys":{"pk":{"S":["REVISION"]}}}}`},
		}},
	}))
}

func TestAPIs(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), props(map[string]any{"ProtocolType": "HTTP"}))
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), props(map[string]any{
		"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action",
	}))
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), props(map[string]any{
		"RouteKey": "$connect", "AuthorizationType": "AWS_IAM",
	}))
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), props(map[string]any{
		"RouteKey": "$default", "AuthorizationType": "AWS_IAM", "Target": assertions.Match_AnyValue(),
	}))
	for _, key := range []string{"$disconnect", "hello", "status"} {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), props(map[string]any{"RouteKey": key}))
	}
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), props(map[string]any{"StageName": "live", "AutoDeploy": true}))

	tok, _ := synth(t, stack.AuthToken)
	tok.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), props(map[string]any{
		"AuthorizerType": "REQUEST", "IdentitySource": []any{"route.request.header.Authorization"},
	}))
	tok.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), props(map[string]any{
		"RouteKey": "$connect", "AuthorizationType": "CUSTOM",
	}))
}

// TestLeastPrivilege checks which role may do what.
func TestLeastPrivilege(t *testing.T) {
	_, raw := synth(t, stack.AuthIAM)
	policies := policiesByRole(t, raw)
	tests := []struct {
		desc, role string
		has, lacks []string
	}{
		{"publisher writes snapshots, signs, notifies", "PublisherFunction",
			[]string{"s3:PutObject", "execute-api:ManageConnections", "secretsmanager:GetSecretValue", "dynamodb:Query",
				`"dynamodb:LeadingKeys"`},
			[]string{"s3:DeleteObject"}},
		{"admin writes the table only", "AdminFunction",
			[]string{"dynamodb:PutItem", "dynamodb:Query", "s3:GetObject", "s3:ListBucket", "s3:PutObject"},
			[]string{"s3:PutObjectTagging", "execute-api:ManageConnections"}},
		{"cluster manages connections, reads the pointer", "ClusterFunction",
			[]string{"execute-api:ManageConnections", "s3:GetObject"},
			[]string{"s3:PutObject", "secretsmanager:"}},
		{"data planes read snapshots, connect, and count rate limits", "DataPlanesTaskRole",
			[]string{"s3:GetObject", "execute-api:Invoke", "dynamodb:UpdateItem", "dynamodb:BatchGetItem", `"Counters`},
			[]string{"s3:PutObject", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan",
				"dynamodb:*", "Entities"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			doc := policies[tc.role]
			if doc == "" {
				t.Fatalf("no policy for role %s (have %v)", tc.role, keys(policies))
			}
			for _, a := range tc.has {
				if !strings.Contains(doc, a) {
					t.Errorf("%s lacks %s", tc.role, a)
				}
			}
			for _, a := range tc.lacks {
				if strings.Contains(doc, a) {
					t.Errorf("%s must not have %s", tc.role, a)
				}
			}
		})
	}
}

func TestFleet(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), props(map[string]any{
		"RequiresCompatibilities": []any{"FARGATE"},
		"RuntimePlatform":         map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
		"ContainerDefinitions": []any{like(map[string]any{
			"Image":       "skyport:dev",
			"Command":     []any{"dp"},
			"HealthCheck": like(map[string]any{"Command": []any{"CMD", "/skyport", "health"}}),
		})},
	}))
	for _, env := range []map[string]any{
		{"Name": "SKYPORT_CP_URL"}, {"Name": "SKYPORT_FALLBACK_URL"}, {"Name": "SKYPORT_VERIFY_KEY"},
		{"Name": "SKYPORT_CP_AUTH", "Value": "iam"}, {"Name": "SKYPORT_COUNTERS_TABLE"},
		{"Name": "SKYPORT_STATUS_LISTEN", "Value": fmt.Sprintf("0.0.0.0:%d", fleet.StatusPort)},
	} {
		tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), props(map[string]any{
			"ContainerDefinitions": []any{like(map[string]any{
				"Environment": assertions.Match_ArrayWith(&[]interface{}{like(env)}),
			})},
		}))
	}
	tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), props(map[string]any{"LaunchType": "FARGATE"}))
	for _, port := range []float64{80, 443} {
		tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), props(map[string]any{"Port": port, "Protocol": "TCP"}))
	}
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), props(map[string]any{
		"HealthCheckPath": "/status/ready", "HealthCheckPort": strconv.Itoa(fleet.StatusPort), "HealthCheckProtocol": "HTTP",
	}))
	tpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), props(map[string]any{
		"PolicyType": "TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration": like(map[string]any{
			"PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
			"TargetValue":                   60,
		}),
	}))
}

func TestAlarmsAndOutputs(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(5))
	tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), props(map[string]any{"ScheduleExpression": "rate(1 minute)"}))
	for _, pattern := range []string{`{ $.state = "rejected" }`, `{ $.msg = "revision refused" }`, `{ $.msg = "rollout halted" }`} {
		tpl.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), props(map[string]any{"FilterPattern": pattern}))
	}
	for _, o := range []string{"AdminApiUrl", "WebSocketUrl", "BucketName", "DataPlaneEndpoint", "VerifyKey", "FallbackUrl"} {
		tpl.HasOutput(jsii.String(o), props(map[string]any{"Value": assertions.Match_AnyValue()}))
	}
	tpl.HasResourceProperties(jsii.String("Custom::SkyportSigningKey"), props(map[string]any{"SecretId": assertions.Match_AnyValue()}))
}

// TestAwsSolutions applies cdk-nag's AwsSolutions pack to both auth modes:
// every rule passes or is suppressed, in code, with its evidence.
func TestAwsSolutions(t *testing.T) {
	for _, auth := range []string{stack.AuthIAM, stack.AuthToken} {
		t.Run(auth, func(t *testing.T) {
			synth(t, auth)
			v, _ := synthOnce.Load(auth)
			for _, m := range v.(*synthesized).nag {
				t.Error(m)
			}
		})
	}
}

// TestSigningKeyRotation: the rotation phase reaches the custom resource,
// whose answer feeds the data planes' keys and the publisher's key id.
func TestSigningKeyRotation(t *testing.T) {
	tpl, raw := synth(t, stack.AuthToken)
	tpl.HasResourceProperties(jsii.String("Custom::SkyportSigningKey"), props(map[string]any{
		"Rotation": "prepare", "ServiceToken": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^KeygenFunction")), "Arn"}},
	}))
	pub := findOne(t, raw, "AWS::Lambda::Function", "PublisherFunction")
	env, _ := json.Marshal(pub["Properties"].(map[string]any)["Environment"])
	if !strings.Contains(string(env), `"SKYPORT_SIGNING_KEY_ID":{"Fn::GetAtt":["SigningKeyPair`) {
		t.Errorf("publisher environment: %s", env)
	}
	out, _ := json.Marshal(raw["Outputs"].(map[string]any)["VerifyKey"])
	if !strings.Contains(string(out), "VerifyKeys") {
		t.Errorf("VerifyKey output: %s", out)
	}
	tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(6))
}

// TestPublisherMemory: the publisher gets the memory a cold publication
// of a large configuration needs, and a Go heap limit below it; the
// other functions keep theirs.
func TestPublisherMemory(t *testing.T) {
	_, raw := synth(t, stack.AuthToken)
	for _, c := range []struct {
		prefix string
		want   float64
	}{
		{"PublisherFunction", stack.PublisherMemoryMiB},
		{"AdminFunction", 256},
		{"ClusterFunction", 256},
		{"ImporterFunction", stack.ImporterMemoryMiB},
	} {
		fn := findOne(t, raw, "AWS::Lambda::Function", c.prefix)
		if got := fn["Properties"].(map[string]any)["MemorySize"]; got != c.want {
			t.Errorf("%s MemorySize = %v, want %v", c.prefix, got, c.want)
		}
	}
	env, _ := json.Marshal(findOne(t, raw, "AWS::Lambda::Function", "PublisherFunction")["Properties"].(map[string]any)["Environment"])
	if !strings.Contains(string(env), `"GOMEMLIMIT":"`+stack.PublisherMemoryLimit+`"`) {
		t.Errorf("publisher environment without its GOMEMLIMIT: %s", env)
	}
}

func TestPropsValidation(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	if _, err := stack.New(app, "A", &stack.Props{}); err == nil {
		t.Error("missing LambdaDir accepted")
	}
	if _, err := stack.New(app, "B", &stack.Props{LambdaDir: "x", AdminAuth: "basic"}); err == nil {
		t.Error("unknown AdminAuth accepted")
	}
	if _, err := stack.New(app, "C", &stack.Props{LambdaDir: "x", SigningKeyRotation: "retire"}); err == nil {
		t.Error("unknown SigningKeyRotation accepted")
	}
	if _, err := stack.New(app, "D", &stack.Props{LambdaDir: "x", DataPlane: &stack.DataPlaneProps{}}); err == nil {
		t.Error("a fleet with neither image nor image directory accepted")
	}
}

func findOne(t *testing.T, raw map[string]any, typ string, prefix ...string) map[string]any {
	t.Helper()
	for id, r := range raw["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ && (len(prefix) == 0 || strings.HasPrefix(id, prefix[0])) {
			return res
		}
	}
	t.Fatalf("no %s in template", typ)
	return nil
}

// policiesByRole joins, per role logical-id prefix, every IAM policy
// document attached to it.
func policiesByRole(t *testing.T, raw map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range raw["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::IAM::Policy" {
			continue
		}
		p := res["Properties"].(map[string]any)
		doc, _ := json.Marshal(p["PolicyDocument"])
		for _, role := range p["Roles"].([]any) {
			ref, _ := role.(map[string]any)["Ref"].(string)
			for _, prefix := range []string{"PublisherFunction", "AdminFunction", "ClusterFunction", "DataPlanesTaskRole"} {
				if strings.HasPrefix(ref, prefix) {
					out[prefix] += string(doc)
				}
			}
		}
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestChainedRevisionsOutliveNoObject: superseded snapshots and deltas
// expire after the history records, by ChainMarginDays, so a chained
// revision within the history is rebuilt; a shorter expiry is refused.
func TestChainedRevisionsOutliveNoObject(t *testing.T) {
	tpl, _ := synth(t, stack.AuthIAM)
	for _, rule := range []map[string]any{
		{"Id": "expire-history-records", "ExpirationInDays": 90},
		{"Id": "expire-superseded-snapshots", "ExpirationInDays": 90 + stack.ChainMarginDays},
		{"Id": "expire-deltas", "ExpirationInDays": 90 + stack.ChainMarginDays},
	} {
		tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), props(map[string]any{
			"LifecycleConfiguration": like(map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{like(rule)})}),
		}))
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	if _, err := stack.New(app, "Bad", &stack.Props{LambdaDir: lambdaDir(t), HistoryMaxDays: 30, SupersededSnapshotDays: 30}); err == nil {
		t.Fatal("superseded snapshots expiring with the history records were accepted")
	}
}
