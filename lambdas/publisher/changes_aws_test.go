package publisher_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/eventsource"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// counting is the DynamoDB store with its whole-table reads counted.
type counting struct {
	*dynamo.Store
	exports atomic.Int64
	changes atomic.Int64
}

func (c *counting) Export(ctx context.Context) (*model.Config, int64, error) {
	c.exports.Add(1)
	return c.Store.Export(ctx)
}

func (c *counting) ChangedSince(ctx context.Context, base int64) (*store.ChangeSet, error) {
	c.changes.Add(1)
	return c.Store.ChangedSince(ctx, base)
}

// numbered is service number n.
func numbered(n int) model.Entity {
	s := model.NewService()
	s.ID = fmt.Sprintf("00000000-0000-4000-b000-%012d", n)
	name := fmt.Sprintf("svc-%d", n)
	s.Name = &name
	s.Host = name + ".internal"
	s.CreatedAt, s.UpdatedAt = 1795239000, 1795239000
	return s
}

func consumerWithKeys(n, keys int) []model.Entity {
	c := &model.Consumer{}
	c.ID = fmt.Sprintf("00000000-0000-4000-9000-%012d", n)
	name := fmt.Sprintf("consumer-%d", n)
	c.Username = &name
	c.CreatedAt, c.UpdatedAt = 1795239000, 1795239000
	out := []model.Entity{c}
	for i := range keys {
		k := &model.KeyAuth{Key: fmt.Sprintf("key-%d-%d", n, i), Consumer: &model.Ref{ID: c.ID}}
		k.ID = fmt.Sprintf("00000000-0000-4000-a%03d-%012d", i, n)
		k.CreatedAt = 1795239000
		out = append(out, k)
	}
	return out
}

// TestStreamPublishesFromChangeLog drives the publisher from the table's
// stream on the emulator: after the first publication it never exports
// the table again; each publication's delta is what the change log named
// (a burst of 120 revisions coalesced into one, read in several batches;
// a cascade's tombstones), it applies to the previous snapshot into the
// next one, and the hash recorded with each revision is its snapshot's.
// A replacement, which the log does not detail, is exported.
func TestStreamPublishesFromChangeLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv := motoserver.Start(t)
	cfg := srv.SerialConfig()
	ddb := dynamodb.NewFromConfig(cfg)
	cp := &counting{Store: dynamo.New(ddb, "skyport")}
	require.NoError(t, cp.CreateTable(ctx))
	streamARN, err := eventsource.LatestStreamARN(ctx, ddb, "skyport")
	require.NoError(t, err)
	objects := objstore.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "skyport-snapshots", "cp")
	require.NoError(t, objects.CreateBucket(ctx))
	pubKey, priv := newKey(t)
	pub := publisher.New(publisher.Options{Source: cp, Objects: objects, Key: priv, Logger: quiet()})
	var publishes atomic.Int64
	poller := eventsource.New(eventsource.Options{
		Client: dynamodbstreams.NewFromConfig(cfg), StreamARN: streamARN,
		Filter: eventsource.RevisionFilter, PollInterval: 10 * time.Millisecond, Logger: quiet(),
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			before := readLatestOrZero(t, objects).Revision
			resp, err := pub.HandleEvent(ctx, ev)
			if readLatestOrZero(t, objects).Revision != before {
				publishes.Add(1)
			}
			return resp, err
		},
	})
	origin := store.Origin{RequestID: "test"}
	id, err := cp.Identity(ctx)
	require.NoError(t, err)

	// publishOnce polls the stream and checks the publication it made:
	// one delta from the previous pointer, applied to its snapshot into
	// the new one.
	prev := snapshot.Pointer{}
	publishOnce := func(want int64) *delta.Document {
		t.Helper()
		publishes.Store(0)
		_, err := poller.Poll(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), publishes.Load(), "one publication for the whole burst")
		latest := readLatest(t, objects)
		require.Equal(t, want, latest.Revision)
		cfg := configAt(t, objects, latest, pubKey)
		hash, rev, ok, err := cp.ConfigHash(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, want, rev)
		require.Equal(t, snapshot.ConfigHash(cfg), hash, "the hash kept with the revision is its snapshot's")
		var d *delta.Document
		if prev.Revision > 0 {
			require.NotEmpty(t, latest.Delta.Key)
			require.Equal(t, prev.Revision, latest.Delta.Base)
			ddata, _, err := objects.Get(ctx, latest.Delta.Key)
			require.NoError(t, err)
			d, err = delta.Open(ddata, delta.Pointer{ClusterID: id.ClusterID, Epoch: id.Epoch, Base: latest.Delta.Base,
				Revision: latest.Revision, Key: latest.Delta.Key, SHA256: latest.Delta.SHA256, Size: latest.Delta.Size,
				Signature: latest.Delta.Signature, Format: latest.Delta.Format}, pubKey)
			require.NoError(t, err)
			_, err = delta.Apply(configAt(t, objects, prev, pubKey), prev.Revision, d)
			require.NoError(t, err, "the previous snapshot plus the delta is the new one")
		}
		prev = latest
		return d
	}

	// The first publication has no base: it exports.
	first := consumerWithKeys(0, 20)
	var rev int64
	for _, e := range first {
		rev, err = cp.Create(ctx, e, origin)
		require.NoError(t, err)
	}
	publishOnce(rev)
	require.Equal(t, int64(1), cp.exports.Load())

	// A burst of 120 revisions: one publication, one delta of all of
	// them, read by key in more than one batch; no export.
	for i := 1; i <= 120; i++ {
		rev, err = cp.Create(ctx, numbered(i), origin)
		require.NoError(t, err)
	}
	d := publishOnce(rev)
	require.Len(t, d.Upserts.Services, 120)
	require.Empty(t, d.Deletes)
	require.Equal(t, int64(1), cp.exports.Load(), "no export after the first publication")

	// A cascade is one revision of 21 deletions: its tombstones make the
	// delta's deletes.
	rev, err = cp.Delete(ctx, model.KindConsumer, first[0].Meta().ID, store.AnyVersion, origin)
	require.NoError(t, err)
	d = publishOnce(rev)
	require.True(t, d.Upserts.Empty())
	require.Equal(t, []string{first[0].Meta().ID}, d.Deletes[model.KindConsumer])
	require.Len(t, d.Deletes[model.KindKeyAuth], 20)
	require.Equal(t, int64(1), cp.exports.Load())

	// A replacement is not detailed in the log: exported, then deltas again.
	repl := &model.Config{}
	repl.Add(numbered(1000))
	rev, err = cp.ReplaceAll(ctx, repl, origin)
	require.NoError(t, err)
	d = publishOnce(rev)
	require.Equal(t, int64(2), cp.exports.Load())
	require.Len(t, d.Deletes[model.KindService], 120, "the diff against the base names what went")
	rev, err = cp.Create(ctx, numbered(1001), origin)
	require.NoError(t, err)
	d = publishOnce(rev)
	require.Len(t, d.Upserts.Services, 1)
	require.Equal(t, int64(2), cp.exports.Load())
	require.Positive(t, cp.changes.Load())
}

func readLatestOrZero(t *testing.T, objects objstore.Store) snapshot.Pointer {
	t.Helper()
	if _, _, err := objects.Get(context.Background(), snapshot.LatestKey); err != nil {
		return snapshot.Pointer{}
	}
	return readLatest(t, objects)
}
