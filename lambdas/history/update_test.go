package history_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/history"
)

// TestUpdateConditional: Update rewrites a record only over the one it
// read; a record rewritten or removed meanwhile is left as it is.
func TestUpdateConditional(t *testing.T) {
	t.Parallel()
	id := snapshot.Identity{ClusterID: "c1", Epoch: 1}
	rec := history.Record{Revision: 5, ClusterID: id.ClusterID, Epoch: id.Epoch, State: history.StatePublished, Full: 1}
	tests := []struct {
		desc string
		// meanwhile runs between Update's read and its write.
		meanwhile func(t *testing.T, log *history.Log, objects objstore.Store)
		wantErr   error
		wantFull  int64 // the record's Full after; -1: no record
	}{
		{"nothing meanwhile", func(*testing.T, *history.Log, objstore.Store) {}, nil, 0},
		{"rewritten meanwhile", func(t *testing.T, log *history.Log, _ objstore.Store) {
			other := rec
			other.Full = 2
			require.NoError(t, log.Put(context.Background(), other))
		}, objstore.ErrPrecondition, 2},
		{"removed meanwhile", func(t *testing.T, _ *history.Log, objects objstore.Store) {
			require.NoError(t, objects.Delete(context.Background(), history.Key(id, 5)))
		}, objstore.ErrPrecondition, -1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			objects, err := objstore.NewDir(t.TempDir())
			require.NoError(t, err)
			log := history.New(objects, history.Retention{}, nil)
			require.NoError(t, log.Put(ctx, rec))
			err = log.Update(ctx, id, 5, func(r *history.Record) bool {
				tt.meanwhile(t, log, objects)
				r.Full = 0
				return true
			})
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			got, err := log.Get(ctx, id, 5, 5)
			if tt.wantFull < 0 {
				require.ErrorIs(t, err, history.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantFull, got.Full)
		})
	}
}
