package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// SupersededTag marks a snapshot object that is no longer the latest; the
// bucket's lifecycle expires such objects after SupersededSnapshotDays.
const SupersededTag = "skyport:superseded"

// data holds the stateful resources.
type data struct {
	entities awsdynamodb.Table
	cluster  awsdynamodb.Table
	bucket   awss3.Bucket
	dlq      awssqs.Queue
}

func newData(s awscdk.Stack, p *Props) *data {
	d := &data{}
	// Entities and the revision item; the stream drives publication.
	d.entities = awsdynamodb.NewTable(s, jsii.String("Entities"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:    awsdynamodb.TableEncryption_AWS_MANAGED,
		Stream:        awsdynamodb.StreamViewType_NEW_IMAGE,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Connections and data-plane status; rows expire through TTL and never
	// trigger publication (no stream).
	d.cluster = awsdynamodb.NewTable(s, jsii.String("Cluster"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("expires_at"),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy:       awscdk.RemovalPolicy_DESTROY,
	})
	d.bucket = awss3.NewBucket(s, jsii.String("Snapshots"), &awss3.BucketProps{
		Versioned:         jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:         jsii.String("expire-superseded-snapshots"),
				Prefix:     jsii.String(p.SnapshotPrefix + "/snapshots/"),
				TagFilters: &map[string]interface{}{SupersededTag: "true"},
				Expiration: awscdk.Duration_Days(jsii.Number(p.SupersededSnapshotDays)),
			},
			{
				Id:                                  jsii.String("expire-old-versions"),
				NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
		},
	})
	// Stream batches the publisher could not process after its retries.
	d.dlq = awssqs.NewQueue(s, jsii.String("PublisherFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	return d
}
