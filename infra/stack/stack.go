package stack

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/fleet"
	"github.com/skyport-gw/skyport/infra/nag"
)

// RevisionKey is the partition and sort key of the revision item: the
// stream's event-source mapping is filtered to its records.
const RevisionKey = "REVISION"

// ClusterKey is the partition and sort key of the cluster identity item,
// one of the two items of the entity table the publisher writes.
const ClusterKey = "CLUSTER"

// HashKey is the partition and sort key of the configuration hash item,
// the other item of the entity table the publisher writes.
const HashKey = "HASH"

// Stack is the deployed Skyport control plane (and optional fleet).
type Stack struct {
	awscdk.Stack
	Fleet *fleet.Fleet
}

// New builds the stack.
func New(scope constructs.Construct, id string, props *Props) (*Stack, error) {
	p := *props
	p.defaults()
	if p.LambdaDir == "" {
		return nil, fmt.Errorf("stack: LambdaDir is required (run make build)")
	}
	if p.AdminAuth != AuthIAM && p.AdminAuth != AuthToken {
		return nil, fmt.Errorf("stack: AdminAuth %q: want iam or token", p.AdminAuth)
	}
	if p.DataPlaneAuth != AuthIAM && p.DataPlaneAuth != AuthToken {
		return nil, fmt.Errorf("stack: DataPlaneAuth %q: want iam or token", p.DataPlaneAuth)
	}
	switch p.SigningKeyRotation {
	case "none", "prepare", "promote":
	default:
		return nil, fmt.Errorf("stack: SigningKeyRotation %q: want none, prepare or promote", p.SigningKeyRotation)
	}
	if p.DataPlane != nil && p.DataPlane.Image == "" && p.DataPlane.ImageDir == "" {
		return nil, fmt.Errorf("stack: DataPlane needs an Image or an ImageDir")
	}
	if p.SupersededSnapshotDays < p.HistoryMaxDays+ChainMarginDays {
		return nil, fmt.Errorf("stack: SupersededSnapshotDays %g: want at least HistoryMaxDays+%d (%g), or a chained revision in the history outlives the snapshot it is rebuilt from",
			p.SupersededSnapshotDays, ChainMarginDays, p.HistoryMaxDays+ChainMarginDays)
	}
	if p.RolloutPolicy != "" && !json.Valid([]byte(p.RolloutPolicy)) {
		return nil, fmt.Errorf("stack: RolloutPolicy is not JSON")
	}
	s := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	// Server access logs are delivered under a bucket policy, not an ACL.
	s.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
	out := &Stack{Stack: s}

	d := newData(s, &p)
	k := newKeys(s, &p)
	bucketURL := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), d.bucket.BucketName(), jsii.String("/" + p.SnapshotPrefix)})

	historyMaxRevisions := jsii.String(strconv.FormatFloat(p.HistoryMaxRevisions, 'f', 0, 64))
	historyMaxAge := jsii.String(strconv.FormatFloat(p.HistoryMaxDays*24, 'f', 0, 64) + "h")
	adminEnv := map[string]*string{
		"SKYPORT_TABLE":                 d.entities.TableName(),
		"SKYPORT_CLUSTER_TABLE":         d.cluster.TableName(),
		"SKYPORT_BUCKET":                bucketURL,
		"SKYPORT_HISTORY_MAX_REVISIONS": historyMaxRevisions,
		"SKYPORT_HISTORY_MAX_AGE":       historyMaxAge,
	}
	if k.admin != nil {
		adminEnv["SKYPORT_ADMIN_TOKEN_SECRET"] = k.admin.SecretArn()
	}
	if p.RolloutPolicy != "" {
		adminEnv["SKYPORT_ROLLOUT_POLICY"] = jsii.String(p.RolloutPolicy)
	}
	admin := newFunction(s, "AdminFunction", "admin", &p, adminEnv, 29)
	// The import runner: a kong.yml of a million entities parses into a
	// few GB; it hands on to a new invocation before its 15 minutes end.
	importer := newSizedFunction(s, "ImporterFunction", "importer", &p, map[string]*string{
		"SKYPORT_TABLE":  d.entities.TableName(),
		"SKYPORT_BUCKET": bucketURL,
	}, 900, ImporterMemoryMiB)
	admin.fn.AddEnvironment(jsii.String("SKYPORT_IMPORT_FUNCTION"), importer.fn.FunctionName(), nil)
	cluster := newFunction(s, "ClusterFunction", "cluster", &p, map[string]*string{
		"SKYPORT_CLUSTER_TABLE": d.cluster.TableName(),
		"SKYPORT_BUCKET":        bucketURL,
	}, 10)
	var authorizer awslambda.IFunction
	if k.dataPlane != nil {
		az := newFunction(s, "AuthorizerFunction", "authorizer", &p, map[string]*string{
			"SKYPORT_DP_TOKEN_SECRET": k.dataPlane.SecretArn(),
		}, 10)
		k.dataPlane.GrantRead(az.fn, nil)
		authorizer = az.fn
	}
	a := newAPIs(s, &p, admin.fn, cluster.fn, authorizer)
	endpoint := a.stage.CallbackUrl()
	cluster.fn.AddEnvironment(jsii.String("SKYPORT_WS_ENDPOINT"), endpoint, nil)

	// The publisher holds the configuration it published last, the base
	// of the next delta, and a new instance reads it back whole: see
	// PublisherMemoryMiB.
	publisher := newSizedFunction(s, "PublisherFunction", "publisher", &p, map[string]*string{
		"SKYPORT_TABLE":                 d.entities.TableName(),
		"SKYPORT_CLUSTER_TABLE":         d.cluster.TableName(),
		"SKYPORT_BUCKET":                bucketURL,
		"SKYPORT_SIGNING_KEY_SECRET":    k.signing.SecretArn(),
		"SKYPORT_SIGNING_KEY_ID":        k.keyID,
		"SKYPORT_WS_ENDPOINT":           endpoint,
		"SKYPORT_HISTORY_MAX_REVISIONS": historyMaxRevisions,
		"SKYPORT_HISTORY_MAX_AGE":       historyMaxAge,
		"GOMEMLIMIT":                    jsii.String(PublisherMemoryLimit),
	}, 60, PublisherMemoryMiB)
	if p.RolloutPolicy != "" {
		publisher.fn.AddEnvironment(jsii.String("SKYPORT_ROLLOUT_POLICY"), jsii.String(p.RolloutPolicy), nil)
	}
	publisher.fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(d.entities, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(100),
		RetryAttempts:           jsii.Number(10),
		BisectBatchOnError:      jsii.Bool(true),
		OnFailure:               awslambdaeventsources.NewSqsDlq(d.dlq),
		ReportBatchItemFailures: jsii.Bool(true),
		ParallelizationFactor:   jsii.Number(1),
		Filters: &[]*map[string]interface{}{
			awslambda.FilterCriteria_Filter(&map[string]interface{}{
				"dynamodb": map[string]interface{}{
					"Keys": map[string]interface{}{
						"pk": map[string]interface{}{"S": awslambda.FilterRule_IsEqual(jsii.String(RevisionKey))},
					},
				},
			}),
		},
	}))

	// The staged rollout's bake timers and halt conditions are stepped
	// every minute (and after every publication).
	awsevents.NewRule(s, jsii.String("RolloutSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Steps Skyport's staged rollout: bake timers, halt conditions, promotions"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(publisher.fn, nil)},
	})

	grantAccess(&p, d, k, a, admin.fn, cluster.fn, publisher.fn, importer)
	nag.Suppress(publisher.role, "IAM5", "Lambda's DynamoDB event-source mapping calls ListStreams, which has no resource-level permissions",
		`/^Resource::\*$/`)
	newAlarms(s, publisher, cluster, d)

	if p.DataPlane != nil {
		out.Fleet = newFleet(s, &p, d, k, a)
	}
	newOutputs(s, &p, d, k, a, out.Fleet)
	return out, nil
}

// grantAccess gives each function exactly what it uses.
func grantAccess(p *Props, d *data, k *keys, a *apis, admin, cluster, publisher awslambda.Function, importer *function) {
	// Admin: writes entities, reads data-plane status.
	d.entities.GrantReadWriteData(admin)
	d.cluster.GrantReadData(admin)
	if k.admin != nil {
		k.admin.GrantRead(admin, nil)
	}
	// Admin: reads the configuration history (records and snapshots),
	// writes the rollout policy and the Admin API's promote and halt.
	admin.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/*"))},
	}))
	admin.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject", "s3:DeleteObject"),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/rollout/*"))},
	}))
	nag.Suppress(admin.Role(), "IAM5", "the rollout's policy and state objects live under <prefix>/rollout/; the grant covers that folder only",
		`/^Resource::<Snapshots[0-9A-F]{8}\.Arn>\/`+p.SnapshotPrefix+`\/rollout\/\*$/`)
	// Cluster routes: connection and status rows, the latest pointer, replies.
	d.cluster.GrantReadWriteData(cluster)
	cluster.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/*"))},
	}))
	grantPostToConnections(cluster, a)
	// Publisher: reads entities, writes snapshots (the only writer of the
	// bucket besides the Admin API's rollout folder), signs, notifies,
	// cleans up connection rows. It writes the table for one thing: a
	// halted rollout's rollback revision (the last good configuration). It
	// holds the signing key, so it could make data planes run anything
	// already: the write adds no reach.
	d.entities.GrantReadWriteData(publisher)
	// The cluster identity item (created on first use, its epoch moved
	// when the table is a restored copy) and the configuration hash item
	// (the hash of each revision it publishes): updates of those only.
	publisher.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:UpdateItem"),
		Resources: &[]*string{d.entities.TableArn()},
		Conditions: &map[string]interface{}{
			"ForAllValues:StringEquals": map[string]interface{}{"dynamodb:LeadingKeys": []string{ClusterKey, HashKey}},
		},
	}))
	d.cluster.Grant(publisher, jsii.String("dynamodb:Query"), jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:DeleteItem"))
	k.signing.GrantRead(publisher, nil)
	grantPostToConnections(publisher, a)
	publisher.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"),
		Resources: &[]*string{d.bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/*"))},
	}))
	for _, fn := range []awslambda.Function{admin, cluster, publisher} {
		nag.Suppress(fn.Role(), "IAM5", "snapshot objects under the prefix are named by cluster, epoch and revision (snapshots/<cluster>/<epoch>/<rev>.json.gz, latest.json), "+
			"so the grant covers the prefix; nothing outside it", `/^Resource::<Snapshots[0-9A-F]{8}\.Arn>\/`+p.SnapshotPrefix+`\/\*$/`)
	}
	for _, fn := range []awslambda.Function{admin, publisher} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings("s3:ListBucket"),
			Resources:  &[]*string{d.bucket.BucketArn()},
			Conditions: &map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": []string{p.SnapshotPrefix + "/*"}}},
		}))
	}
	importFolder := grantImports(p, d, admin, importer)
	// Nobody but the publisher writes the bucket; the Admin API writes
	// the rollout folder too, the Admin API and the importer the imports.
	rolloutFolder := d.bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/rollout/*"))
	d.bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:          jsii.String("OnlyThePublisherWrites"),
		Effect:       awsiam.Effect_DENY,
		Principals:   &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:      jsii.Strings("s3:PutObject", "s3:PutObjectTagging"),
		NotResources: &[]*string{rolloutFolder, importFolder},
		Conditions: &map[string]interface{}{
			"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": publisher.Role().RoleArn()},
		},
	}))
	d.bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheAdminAndImporterWriteImports"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject", "s3:PutObjectTagging"),
		Resources:  &[]*string{importFolder},
		Conditions: &map[string]interface{}{
			"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": []*string{admin.Role().RoleArn(), importer.role.RoleArn()}},
		},
	}))
	d.bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyThePublisherAndAdminWriteTheRollout"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject", "s3:PutObjectTagging"),
		Resources:  &[]*string{rolloutFolder},
		Conditions: &map[string]interface{}{
			"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": []*string{publisher.Role().RoleArn(), admin.Role().RoleArn()}},
		},
	}))
}

// grantPostToConnections lets fn post to data planes' WebSocket
// connections, the only management call Skyport makes.
func grantPostToConnections(fn awslambda.Function, a *apis) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("execute-api:ManageConnections"),
		Resources: &[]*string{awscdk.Stack_Of(fn).FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("execute-api"),
			Resource:     a.ws.ApiId(),
			ResourceName: jsii.String(stageName + "/POST/@connections/*"),
		})},
	}))
	nag.Suppress(fn.Role(), "IAM5", "connection ids are assigned by API Gateway at $connect; the grant is POST to this API's stage only",
		`/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<ClusterApi[0-9A-F]{8}>\/live\/POST\/@connections\/\*$/`)
}

func newFleet(s awscdk.Stack, p *Props, d *data, k *keys, a *apis) *fleet.Fleet {
	dp := p.DataPlane
	var image awsecs.ContainerImage
	if dp.Image != "" {
		image = awsecs.ContainerImage_FromRegistry(jsii.String(dp.Image), nil)
	} else {
		// `make image-files ARCH=arm64` lays out the build context: the
		// Dockerfile, the binary and the root file system, nothing else.
		image = awsecs.ContainerImage_FromAsset(jsii.String(dp.ImageDir), &awsecs.AssetImageProps{
			Platform: awsecrassets.Platform_LINUX_ARM64(),
		})
	}
	return fleet.New(s, "DataPlanes", &fleet.Props{
		Image:          image,
		CPURL:          a.stage.Url(),
		CPAuth:         p.DataPlaneAuth,
		CPToken:        k.dataPlane,
		ConnectArn:     a.connectArn,
		Bucket:         d.bucket,
		SnapshotPrefix: p.SnapshotPrefix,
		VerifyKey:      k.verifyKeys,
		Counters:       d.counters,
		DesiredCount:   dp.DesiredCount,
		MinCount:       dp.MinCount,
		MaxCount:       dp.MaxCount,
		CPU:            dp.CPU,
		MemoryMiB:      dp.MemoryMiB,
		TargetCPU:      dp.TargetCPUPercent,
	})
}
