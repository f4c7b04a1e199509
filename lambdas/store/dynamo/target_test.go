package dynamo_test

import (
	"context"
	"sync/atomic"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// TestQualifiedTargetMissReadsByKeyOnly: a target looked for as
// "<upstream id>:<target>" (the Admin API's nested lookup) that its
// upstream does not have is not found by key, without a Query of every
// target; a bare target is still found by that Query.
func TestQualifiedTargetMissReadsByKeyOnly(t *testing.T) {
	ctx := context.Background()
	srv := motoserver.Start(t)
	var queries atomic.Int64
	client := clientWith(srv, "countQueries", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if awsmiddleware.GetOperationName(ctx) == "Query" {
			queries.Add(1)
		}
		return next.HandleInitialize(ctx, in)
	})
	s := dynamo.New(client, newTable(t, client))
	up1 := &model.Upstream{Base: model.Base{ID: "a1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Name: "up1"}
	up2 := &model.Upstream{Base: model.Base{ID: "b1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Name: "up2"}
	tg := &model.Target{Base: model.Base{ID: "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Target: "10.0.0.1:9080", Upstream: &model.Ref{ID: up1.ID}}
	for _, e := range []model.Entity{up1, up2, tg} {
		e.Normalize()
		_, err := s.Create(ctx, e, store.Origin{})
		require.NoError(t, err)
	}

	before := queries.Load()
	got, err := s.Get(ctx, model.KindTarget, up1.ID+":10.0.0.1:9080")
	require.NoError(t, err)
	require.Equal(t, tg.ID, got.Meta().ID)
	_, err = s.Get(ctx, model.KindTarget, up2.ID+":10.0.0.1:9080")
	require.ErrorIs(t, err, &model.Error{Code: model.CodeNotFound})
	require.Equal(t, before, queries.Load(), "a qualified target key was looked for by a Query of every target")

	got, err = s.Get(ctx, model.KindTarget, "10.0.0.1:9080")
	require.NoError(t, err)
	require.Equal(t, tg.ID, got.Meta().ID)
}
