package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// SupersededTag marks a snapshot object that is no longer the latest; the
// bucket's lifecycle expires such objects after SupersededSnapshotDays.
const SupersededTag = "skyport:superseded"

// ImportDays is how long the bucket keeps an import job's record and
// upload (a succeeded job's upload is deleted when it is loaded).
const ImportDays = 2

// data holds the stateful resources.
type data struct {
	entities awsdynamodb.Table
	cluster  awsdynamodb.Table
	// counters holds the rate-limiting plugins' cluster policy counters.
	counters awsdynamodb.Table
	bucket   awss3.Bucket
	dlq      awssqs.Queue
	// logs receives the snapshot bucket's server access logs.
	logs awss3.Bucket
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
		// The change log's entries (pk LOG) expire after a week.
		TimeToLiveAttribute: jsii.String("expires_at"),
	})
	// Connections and data-plane status; rows expire through TTL and never
	// trigger publication (no stream).
	d.cluster = awsdynamodb.NewTable(s, jsii.String("Cluster"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("expires_at"),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// Rate-limit counters of the cluster policy: one item per window,
	// incremented by the data planes, gone through TTL after the window.
	// Losing them only resets the current windows: no backups.
	d.counters = awsdynamodb.NewTable(s, jsii.String("Counters"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("expires"),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy:       awscdk.RemovalPolicy_DESTROY,
	})
	nag.Suppress(d.counters, "DDB3", "rate-limit counters live one window (at most a year) and are rebuilt by traffic: point-in-time recovery would restore nothing of value")
	// Server access logs of the snapshot bucket: who read or wrote which
	// snapshot. Kept 90 days.
	d.logs = awss3.NewBucket(s, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{Id: jsii.String("expire-access-logs"), Expiration: awscdk.Duration_Days(jsii.Number(90))},
		},
	})
	nag.Suppress(d.logs, "S1", "this bucket receives the snapshot bucket's server access logs; logging its own access would log every log delivery")
	d.bucket = awss3.NewBucket(s, jsii.String("Snapshots"), &awss3.BucketProps{
		ServerAccessLogsBucket: d.logs,
		ServerAccessLogsPrefix: jsii.String("snapshots/"),
		Versioned:              jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:         jsii.String("expire-superseded-snapshots"),
				Prefix:     jsii.String(p.SnapshotPrefix + "/snapshots/"),
				TagFilters: &map[string]interface{}{SupersededTag: "true"},
				Expiration: awscdk.Duration_Days(jsii.Number(p.SupersededSnapshotDays)),
			},
			{
				Id:         jsii.String("expire-history-records"),
				Prefix:     jsii.String(p.SnapshotPrefix + "/revisions/"),
				Expiration: awscdk.Duration_Days(jsii.Number(p.HistoryMaxDays)),
			},
			{
				// Deltas are chained after a full snapshot in latest.json
				// until the publisher seals the next full one (at most
				// six hours by default, see docs/contracts.md), and
				// rebuild a chained revision for the history as long as
				// the full snapshot they follow is kept: they expire with
				// superseded snapshots.
				Id:         jsii.String("expire-deltas"),
				Prefix:     jsii.String(p.SnapshotPrefix + "/deltas/"),
				Expiration: awscdk.Duration_Days(jsii.Number(p.SupersededSnapshotDays)),
			},
			{
				// Import jobs: their records and the kong.yml uploaded.
				Id:                                  jsii.String("expire-imports"),
				Prefix:                              jsii.String(p.SnapshotPrefix + "/imports/"),
				Expiration:                          awscdk.Duration_Days(jsii.Number(ImportDays)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
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
	nag.Suppress(d.dlq, "SQS3", "this queue is the dead-letter destination itself: the stream event-source mapping's on-failure "+
		"queue, where batches the publisher gave up on wait 14 days behind the PublisherDeadLetters alarm")
	return d
}
