package publisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/eventsource"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// connectionsAPI speaks API Gateway's @connections API: POST to a
// connection in gone answers 410 GoneException, others are recorded.
type connectionsAPI struct {
	mu       sync.Mutex
	received map[string][]protocol.ConfigNotice
	gone     map[string]bool
}

func (m *connectionsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/@connections/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone[id] {
		w.Header().Set("X-Amzn-Errortype", "GoneException")
		w.WriteHeader(http.StatusGone)
		_, _ = io.WriteString(w, `{"message":null}`)
		return
	}
	var n protocol.ConfigNotice
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.received[id] = append(m.received[id], n)
}

func (m *connectionsAPI) revisions(id string) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int64
	for _, n := range m.received[id] {
		out = append(out, n.Revision)
	}
	return out
}

// failAfter makes every DynamoDB call fail once armed and n calls made.
type failAfter struct {
	armed atomic.Bool
	calls atomic.Int64
	n     int64
}

var errInjected = errors.New("injected read failure")

func (f *failAfter) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("failAfter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if f.armed.Load() && f.calls.Add(1) > f.n {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errInjected
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func service(name string) model.Entity {
	s := model.NewService()
	s.ID = fmt.Sprintf("00000000-0000-4000-a000-%012d", len(name))
	s.Name = &name
	s.Host = name + ".internal"
	s.CreatedAt, s.UpdatedAt = 1795239000, 1795239000
	return s
}

// TestStreamToSnapshot runs the AWS path against the emulator: a write
// through the DynamoDB store reaches the publisher through the stream
// and the event-source emulation, and lands in S3.
func TestStreamToSnapshot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := motoserver.Start(t)
	cfg := srv.SerialConfig()
	ddb := dynamodb.NewFromConfig(cfg)

	cp := dynamo.New(ddb, "skyport")
	require.NoError(t, cp.CreateTable(ctx))
	streamARN, err := eventsource.LatestStreamARN(ctx, ddb, "skyport")
	require.NoError(t, err, "the store's table has a stream")

	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	objects := objstore.NewS3(s3c, "skyport-snapshots", "cp")
	require.NoError(t, objects.CreateBucket(ctx))

	reg := cluster.NewDynamo(ddb, "skyport-cluster", nil)
	require.NoError(t, reg.CreateTable(ctx))
	exp := time.Now().Add(time.Hour).Unix()
	for _, id := range []string{"live=", "gone="} {
		require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: id, ExpiresAt: exp}))
	}
	api := &connectionsAPI{received: map[string][]protocol.ConfigNotice{}, gone: map[string]bool{"gone=": true}}
	mgmtSrv := httptest.NewServer(api)
	t.Cleanup(mgmtSrv.Close)
	mgmt := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(mgmtSrv.URL)
	})

	pubKey, priv := newKey(t)
	newPublisher := func(src publisher.Source) *publisher.Publisher {
		return publisher.New(publisher.Options{
			Source: src, Objects: objects, Key: priv, Logger: quiet(),
			Notifier: cluster.NewManagementNotifier(mgmt), Connections: reg,
		})
	}
	pub := newPublisher(cp)
	id, err := cp.Identity(ctx)
	require.NoError(t, err)

	var batches []events.DynamoDBEvent
	poller := eventsource.New(eventsource.Options{
		Client: dynamodbstreams.NewFromConfig(cfg), StreamARN: streamARN,
		Filter: eventsource.RevisionFilter, PollInterval: 10 * time.Millisecond, Logger: quiet(),
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			batches = append(batches, ev)
			return pub.HandleEvent(ctx, ev)
		},
	})
	origin := store.Origin{RequestID: "test"}

	// One write: exactly one new snapshot and a pointer at it.
	rev, err := cp.Create(ctx, service("orders"), origin)
	require.NoError(t, err)
	_, err = poller.Poll(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, batches, "the revision item's change was delivered")
	for _, r := range batches[0].Records {
		require.True(t, eventsource.RevisionFilter(r))
		require.Equal(t, streamARN, r.EventSourceArn)
	}
	require.Equal(t, []string{snapshot.LatestKey, id.Key(rev)}, keys(t, objects))
	latest := readLatest(t, objects)
	require.Equal(t, rev, latest.Revision)
	data, _, err := objects.Get(ctx, latest.Key)
	require.NoError(t, err)
	doc, err := snapshot.Open(data, latest, pubKey)
	require.NoError(t, err)
	require.Len(t, doc.Services, 1)
	require.Equal(t, []int64{rev}, api.revisions("live="))
	_, err = reg.GetConnection(ctx, "gone=")
	require.ErrorIs(t, err, cluster.ErrNotFound, "a post answered 410 deletes the row")

	// Replaying the same batch, twice, changes nothing.
	_, latestETag, err := objects.Get(ctx, snapshot.LatestKey)
	require.NoError(t, err)
	for range 2 {
		resp, err := pub.HandleEvent(ctx, batches[0])
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
	}
	_, etag, err := objects.Get(ctx, snapshot.LatestKey)
	require.NoError(t, err)
	require.Equal(t, latestETag, etag, "latest.json was not rewritten")
	require.Len(t, keys(t, objects), 2)

	// Two publishers race on the next revision, with a stale replay
	// beside them: one snapshot per revision, a pointer that only moves on.
	rev2, err := cp.Create(ctx, service("billing"), origin)
	require.NoError(t, err)
	var wg sync.WaitGroup
	ptrs := make([]snapshot.Pointer, 2)
	errs := make([]error, 2)
	for i := range 2 {
		p := newPublisher(cp)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ptrs[i], errs[i] = p.Publish(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = pub.HandleEvent(ctx, batches[0])
	}()
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	// The winner (either, or the replay's publisher) served the revision
	// as its delta, then sealed the full snapshot the schedule calls for;
	// the others return the pointer they found, before or after that
	// seal: of the same revision and delta.
	final := readLatest(t, objects)
	require.Equal(t, id.Key(rev2), final.Key)
	require.Zero(t, final.Full)
	for _, ptr := range ptrs {
		require.Equal(t, rev2, ptr.Revision)
		require.Equal(t, final.Delta, ptr.Delta)
	}
	require.Equal(t, []string{snapshot.LatestKey, id.Key(rev), id.Key(rev2)}, keys(t, objects))
	// Beside it, the delta from the revision before, which the racing
	// publishers agree on, read from S3 and offered in the notice.
	require.Equal(t, []string{delta.Key(id.Identity, rev, rev2)}, deltaKeys(t, objects))
	var offered *protocol.DeltaNotice
	api.mu.Lock()
	for _, n := range api.received["live="] {
		if n.Revision == rev2 && n.Delta != nil {
			offered = n.Delta
		}
	}
	api.mu.Unlock()
	require.NotNil(t, offered, "a notice of revision %d offers its delta", rev2)
	require.Equal(t, rev, offered.Base)
	ddata, _, err := objects.Get(ctx, offered.Key)
	require.NoError(t, err)
	dptr := delta.Pointer{ClusterID: id.ClusterID, Epoch: id.Epoch, Base: offered.Base, Revision: offered.Revision,
		Key: offered.Key, SHA256: offered.SHA256, Size: offered.Size, Signature: offered.Signature, Format: offered.Format}
	ddoc, err := delta.Open(ddata, dptr, pubKey)
	require.NoError(t, err)
	applied, err := delta.Apply(&doc.Config, rev, ddoc)
	require.NoError(t, err, "revision %d's snapshot plus the delta is revision %d", rev, rev2)
	require.Len(t, applied.Services, 2)
	_, err = poller.Poll(ctx)
	require.NoError(t, err)
	require.Equal(t, rev2, readLatest(t, objects).Revision)
	// The snapshot latest.json no longer names is tagged for the lifecycle rule.
	tags, err := s3c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{
		Bucket: aws.String("skyport-snapshots"), Key: aws.String("cp/" + id.Key(rev)),
	})
	require.NoError(t, err)
	require.Len(t, tags.TagSet, 1)
	require.Equal(t, publisher.SupersededTag, aws.ToString(tags.TagSet[0].Key))

	// A read failure in the middle of the export publishes nothing.
	rev3, err := cp.Create(ctx, service("shipping"), origin)
	require.NoError(t, err)
	fail := &failAfter{n: 3}
	broken := newPublisher(dynamo.New(dynamodb.NewFromConfig(cfg, fail.option), "skyport"))
	fail.armed.Store(true)
	_, err = broken.Publish(ctx)
	require.ErrorIs(t, err, errInjected)
	resp, err := broken.HandleEvent(ctx, events.DynamoDBEvent{Records: batches[0].Records})
	require.NoError(t, err)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: batches[0].Records[0].Change.SequenceNumber}}, resp.BatchItemFailures)
	require.Equal(t, rev2, readLatest(t, objects).Revision)
	require.Len(t, keys(t, objects), 3, "no snapshot of revision %d", rev3)
}
