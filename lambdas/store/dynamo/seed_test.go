package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// TestSeedStaged checks that seeding a staged generation with plain puts
// leaves the items a transactional commit leaves (the change record's
// time and the log entry's expiry aside), that the seeded table is a
// working store (read, written, its change log read), and that a table
// holding a revision is not seeded again.
func TestSeedStaged(t *testing.T) {
	ctx := context.Background()
	client := emulator(t)
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host = "3f0c8a52-7e1d-4c6b-9a2f-5d8e1b4c7a90", model.String("a"), "a.internal"
	c := &model.Consumer{Base: model.Base{ID: "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Username: model.String("c")}
	key := &model.KeyAuth{Base: model.Base{ID: "d1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Key: "k", Consumer: &model.Ref{ID: c.ID}}
	entities := []model.Entity{svc, c, key}
	summary := []string{"seed: 3 entities"}

	seeded, committed := newTable(t, client), newTable(t, client)
	s, cs := dynamo.New(client, seeded), dynamo.New(client, committed)
	require.NoError(t, s.Stage(ctx, "g1", entities))
	require.NoError(t, cs.Stage(ctx, "g1", entities))
	rev, err := s.SeedStaged(ctx, "g1", summary, store.Origin{})
	require.NoError(t, err)
	require.Equal(t, int64(1), rev)
	rev, _, err = cs.CommitStaged(ctx, "g1", summary, store.Origin{})
	require.NoError(t, err)
	require.Equal(t, int64(1), rev)
	require.ElementsMatch(t, sansTimes(requireLayout(t, client, committed, 1)), sansTimes(requireLayout(t, client, seeded, 1)))

	_, err = s.SeedStaged(ctx, "g1", summary, store.Origin{})
	require.ErrorContains(t, err, "holds revision 1 already")

	cfg, rev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), rev)
	require.Equal(t, 3, cfg.Len())
	e, ver, err := s.GetVersioned(ctx, model.KindService, svc.ID)
	require.NoError(t, err)
	next := *e.(*model.Service)
	next.Tags = []string{"written"}
	rev, err = s.Update(ctx, &next, ver, store.Origin{})
	require.NoError(t, err)
	require.Equal(t, int64(2), rev)
	changes, err := s.ChangedSince(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, int64(2), changes.Revision)
	require.Len(t, changes.Upserts.Services, 1)
	require.Equal(t, []string{"written"}, changes.Upserts.Services[0].Tags)
}

// sansTimes drops what differs between two commits of the same
// generation at different times: the change record (its time) and the
// change-log entry's expiry.
func sansTimes(items []map[string]types.AttributeValue) []map[string]types.AttributeValue {
	var out []map[string]types.AttributeValue
	for _, it := range items {
		switch it["pk"].(*types.AttributeValueMemberS).Value {
		case "CHANGE":
			it = map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}
		case "LOG":
			delete(it, "expires_at")
		}
		out = append(out, it)
	}
	return out
}
