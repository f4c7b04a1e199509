package imports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// awsFixture is the AWS path on the emulator: the jobs in S3 (uploads
// through a presigned PUT), the configuration in DynamoDB.
type awsFixture struct {
	*fixture
	ddb   *dynamodb.Client
	table string
	dyn   *dynamo.Store
}

func newAWS(t *testing.T) *awsFixture {
	t.Helper()
	srv := motoserver.Start(t)
	cfg := srv.SerialConfig()
	ctx := context.Background()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	objects := objstore.NewS3(s3c, "skyport-imports", "cp")
	require.NoError(t, objects.CreateBucket(ctx))
	ddb := dynamodb.NewFromConfig(cfg)
	dyn := dynamo.New(ddb, "skyport-imports")
	require.NoError(t, dyn.CreateTable(ctx))
	return &awsFixture{fixture: newFixture(objects, dyn, nil, objects), ddb: ddb, table: "skyport-imports", dyn: dyn}
}

// upload PUTs doc to the job's presigned URL, as a client would.
func upload(t *testing.T, job imports.Job, doc []byte) {
	t.Helper()
	req, err := http.NewRequest(job.Upload.Method, job.Upload.URL, bytes.NewReader(doc))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// generationItems counts the table's items of generation gen.
func (f *awsFixture) generationItems(t *testing.T, gen string) int {
	t.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(f.ddb, &dynamodb.ScanInput{TableName: aws.String(f.table)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		require.NoError(t, err)
		for _, it := range out.Items {
			if pk, ok := it["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "G#"+gen+"#") {
				n++
			}
		}
	}
	return n
}

// generation is the store generation the job's current attempt stages.
func (f *awsFixture) generation(t *testing.T, id string) string {
	t.Helper()
	data, _, err := f.objects.Get(context.Background(), "imports/"+id+"/job.json")
	require.NoError(t, err)
	var rec struct {
		Generation string `json:"generation"`
	}
	require.NoError(t, json.Unmarshal(data, &rec))
	require.NotEmpty(t, rec.Generation)
	return rec.Generation
}

// stepClock advances a minute each time it is read.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Minute)
	return c.now
}

// TestAWSImportFailureMidwayLeavesNothingAndRetrySucceeds: a store write
// failing after some batches leaves the configuration as it was and drops
// what was staged; the job started again loads, over several Lambda
// invocations (each handing on to the next), and flips at once.
func TestAWSImportFailureMidwayLeavesNothingAndRetrySucceeds(t *testing.T) {
	t.Parallel()
	f := newAWS(t)
	ctx := context.Background()
	_, err := f.dyn.ReplaceAll(ctx, mustConfig(t, kongYML(3)), store.Origin{})
	require.NoError(t, err)
	old, before, err := f.dyn.Export(ctx)
	require.NoError(t, err)

	job, err := f.jobs.Create(ctx)
	require.NoError(t, err)
	require.Contains(t, job.Upload.URL, "X-Amz-Signature")
	upload(t, job, kongYML(40)) // 80 entities, 8 batches of 10
	job, err = f.jobs.Start(ctx, job.ID, store.Origin{Method: "POST"})
	require.NoError(t, err)
	gen := f.generation(t, job.ID)

	failing := &failingStager{Stager: f.dyn, failAt: 4}
	r := imports.NewRunner(imports.RunnerOptions{Objects: f.objects, Store: f.dyn, Stager: failing, Batch: 10})
	more, err := r.Run(ctx, job.ID, time.Time{})
	require.NoError(t, err)
	require.False(t, more)
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateFailed, job.State)
	require.Contains(t, job.Error, errInjected.Error())
	require.Equal(t, 30, job.Written, "three batches were staged before the failure")

	cur, rev, err := f.dyn.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, before, rev, "nothing was committed")
	require.Equal(t, old, cur)
	require.Zero(t, f.generationItems(t, gen), "the staged generation is dropped")

	// The retry: a Lambda invocation that runs out of time hands on to
	// the next until the job is done.
	job, err = f.jobs.Start(ctx, job.ID, store.Origin{Method: "POST"})
	require.NoError(t, err)
	require.Equal(t, 2, job.Attempt)
	clock := &stepClock{now: time.Now()}
	next := &launches{}
	var invocations atomic.Int32
	h := &imports.Handler{
		Runner:   imports.NewRunner(imports.RunnerOptions{Objects: f.objects, Store: f.dyn, Batch: 10, Now: clock.Now}),
		Continue: next,
		Reserve:  time.Minute,
	}
	for id := job.ID; id != ""; {
		invocations.Add(1)
		clock.mu.Lock()
		deadline := clock.now.Add(4 * time.Minute)
		clock.mu.Unlock()
		ictx, cancel := context.WithDeadline(ctx, deadline)
		require.NoError(t, h.Handle(ictx, imports.Event{Job: id}))
		cancel()
		id = ""
		if ids := next.taken(); len(ids) > 0 {
			id = ids[0]
			require.Equal(t, job.ID, id)
			mid, rev, err := f.dyn.Export(ctx)
			require.NoError(t, err)
			require.Equal(t, before, rev, "nothing is visible before the last batch")
			require.Equal(t, old, mid)
		}
	}
	require.Greater(t, invocations.Load(), int32(1), "the job took several invocations")
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	require.Equal(t, before+1, job.Revision)
	cur, rev, err = f.dyn.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, job.Revision, rev)
	require.Len(t, cur.Services, 40)
	require.Len(t, cur.Routes, 40)
}
