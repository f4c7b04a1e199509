package publisher_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/publisher"
)

type countingStepper struct{ n int }

func (s *countingStepper) Step(context.Context) (bool, error) { s.n++; return false, nil }

// TestHandleInvoke: the stack's scheduled rule steps the rollout; the
// stream's batches still publish.
func TestHandleInvoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	_, key := newKey(t)
	st := &countingStepper{}
	pub := publisher.New(publisher.Options{Source: newSource(1, "orders"), Objects: objects, Key: key, Rollout: st, Logger: quiet()})

	out, err := pub.HandleInvoke(ctx, json.RawMessage(`{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","account":"1","time":"2026-11-27T10:00:00Z","region":"eu-west-1","resources":[],"detail":{}}`))
	require.NoError(t, err)
	require.Nil(t, out)
	require.Equal(t, 1, st.n)

	raw, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "MODIFY"}}})
	require.NoError(t, err)
	out, err = pub.HandleInvoke(ctx, raw)
	require.NoError(t, err)
	require.Equal(t, events.DynamoDBEventResponse{}, out)
	require.EqualValues(t, 1, readLatest(t, objects).Revision)
	require.Equal(t, 2, st.n, "a publication steps the rollout too")

	_, err = pub.HandleInvoke(ctx, json.RawMessage(`[1,2]`))
	require.Error(t, err)
}
