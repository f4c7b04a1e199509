package history_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/history"
)

func svc(id, name, host string) *model.Service {
	s := model.NewService()
	s.ID, s.Name, s.Host = id, &name, host
	return s
}

func TestDiff(t *testing.T) {
	t.Parallel()
	a := &model.Config{Services: []*model.Service{svc("1", "a", "a.internal"), svc("2", "b", "b.internal")}}
	b := &model.Config{Services: []*model.Service{svc("2", "b", "b2.internal"), svc("3", "c", "c.internal")}}
	for _, tc := range []struct {
		desc     string
		from, to *model.Config
		want     []string
		summary  history.Summary
	}{
		{"nothing", nil, nil, nil, history.Summary{}},
		{"same", a, a, nil, history.Summary{}},
		{"from empty", nil, a, []string{"created 1", "created 2"}, history.Summary{"services": {Created: 2}}},
		{"to empty", a, &model.Config{}, []string{"deleted 1", "deleted 2"}, history.Summary{"services": {Deleted: 2}}},
		{"mixed", a, b, []string{"deleted 1", "updated 2", "created 3"}, history.Summary{"services": {Created: 1, Updated: 1, Deleted: 1}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			changes := history.Diff(tc.from, tc.to)
			var got []string
			for _, c := range changes {
				got = append(got, c.Op+" "+c.ID)
				require.NotEmpty(t, c.Name)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.summary, history.Summarize(changes))
			require.Equal(t, tc.summary, history.DiffSummary(tc.from, tc.to))
		})
	}
}

func TestParseRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, revs, age string
		want            history.Retention
		bad             bool
	}{
		{desc: "defaults", want: history.DefaultRetention},
		{desc: "both", revs: "10", age: "24h", want: history.Retention{Revisions: 10, Age: 24 * time.Hour}},
		{desc: "zero revisions", revs: "0", bad: true},
		{desc: "not a number", revs: "many", bad: true},
		{desc: "negative age", age: "-1h", bad: true},
		{desc: "days are not a Go duration", age: "90d", bad: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := history.ParseRetention(tc.revs, tc.age)
			if tc.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestPrune removes what is past the retention, records and snapshots,
// never the revision latest.json names, and remembers what it removed.
func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	now := time.Unix(1790000000, 0)
	log := history.New(objects, history.Retention{Revisions: 2, Age: time.Hour}, func() time.Time { return now })
	id := snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}
	for rev := int64(1); rev <= 4; rev++ {
		require.NoError(t, log.Put(ctx, history.Record{Revision: rev, CreatedAt: now.Unix(), Since: rev - 1, ClusterID: id.ClusterID, Epoch: id.Epoch, State: history.StatePublished}))
		_, err := objects.Put(ctx, id.Key(rev), []byte("x"), objstore.Condition{})
		require.NoError(t, err)
	}
	n, err := log.Prune(ctx, id, 4, 4)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = log.Get(ctx, id, 1, 4)
	require.ErrorIs(t, err, history.ErrExpired)
	_, _, err = objects.Get(ctx, id.Key(2))
	require.ErrorIs(t, err, objstore.ErrNotFound)
	_, err = log.Get(ctx, id, 3, 4)
	require.NoError(t, err)
	_, err = log.Get(ctx, id, 9, 4)
	require.ErrorIs(t, err, history.ErrNotFound)

	// Past the age, everything but the kept revision goes.
	now = now.Add(2 * time.Hour)
	n, err = log.Prune(ctx, id, 4, 4)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, _, err = objects.Get(ctx, id.Key(4))
	require.NoError(t, err, "the revision latest.json names is kept")
	_, err = log.Get(ctx, id, 3, 4)
	require.ErrorIs(t, err, history.ErrExpired)
}

// pagedStore counts the keys listed below deltas (or records, when
// set): by pages, or by a whole List.
type pagedStore struct {
	objstore.Store
	deltas        string
	listed, whole int
	records       string
	recordsListed int
	recordsWhole  int
}

func (s *pagedStore) List(ctx context.Context, prefix string) ([]string, error) {
	if strings.HasPrefix(prefix, s.deltas) {
		s.whole++
	}
	if s.records != "" && strings.HasPrefix(prefix, s.records) {
		s.recordsWhole++
	}
	return s.Store.List(ctx, prefix)
}

func (s *pagedStore) ListPage(ctx context.Context, prefix, after string, max int) ([]string, error) {
	keys, err := objstore.ListPage(ctx, s.Store, prefix, after, max)
	if strings.HasPrefix(prefix, s.deltas) {
		s.listed += len(keys)
	}
	if s.records != "" && strings.HasPrefix(prefix, s.records) {
		s.recordsListed += len(keys)
	}
	return keys, err
}

// recordedLog is a log that keeps revisions records, over a pagedStore
// counting the listings of its identity's records, listing 16 keys a
// page, with the published revisions 1 to newest recorded.
func recordedLog(t *testing.T, revisions int, newest int64) (*history.Log, *pagedStore, snapshot.Identity) {
	t.Helper()
	ctx := context.Background()
	dir, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	id := snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}
	records := strings.TrimSuffix(history.Key(id, 1), fmt.Sprintf("%020d.json", 1))
	objects := &pagedStore{Store: dir, deltas: snapshot.DeltaPrefix(id), records: records}
	now := time.Unix(1790000000, 0)
	log := history.New(objects, history.Retention{Revisions: revisions, Age: time.Hour}, func() time.Time { return now })
	log.SetDeltaPage(16)
	for rev := int64(1); rev <= newest; rev++ {
		require.NoError(t, log.Put(ctx, history.Record{Revision: rev, CreatedAt: now.Unix(), Since: rev - 1, ClusterID: id.ClusterID, Epoch: id.Epoch, State: history.StatePublished}))
	}
	return log, objects, id
}

// TestPruneListsRecordsByPage: a Prune lists the oldest records a page
// at a time, as many as it may remove and read, not the whole history.
func TestPruneListsRecordsByPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const newest = 400
	log, objects, id := recordedLog(t, 10, newest)
	var pruned int
	for {
		n, err := log.Prune(ctx, id, newest, newest)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		pruned += n
		require.LessOrEqual(t, n, 100, "at most 100 a call")
	}
	require.Equal(t, newest-10, pruned)
	require.Zero(t, objects.recordsWhole, "the records are not listed whole")
	// Four Prunes that remove, and one that finds nothing: each lists up
	// to the 100 it may remove, the 2*16+3 after them and one, and a page.
	require.LessOrEqual(t, objects.recordsListed, 5*(100+2*16+4+16))
	for rev := int64(newest - 9); rev <= newest; rev++ {
		_, err := log.Get(ctx, id, rev, newest)
		require.NoError(t, err, "revision %d is kept", rev)
	}
}

// TestGetMissingListsOnePage: asking for a revision without a record
// reads the oldest record kept to tell a pruned revision from one never
// recorded, listing one page of keys, not the whole history.
func TestGetMissingListsOnePage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const newest = 200
	log, objects, id := recordedLog(t, 1000, newest)
	for rev := int64(1); rev <= 3; rev++ { // pruned by a lifecycle rule: the oldest first
		require.NoError(t, objects.Delete(ctx, history.Key(id, rev)))
	}
	require.NoError(t, objects.Delete(ctx, history.Key(id, 50))) // a record lost
	for _, tc := range []struct {
		rev  int64
		want error
	}{
		{2, history.ErrExpired},
		{50, history.ErrNotFound},
		{newest + 1, history.ErrNotFound},
	} {
		objects.recordsListed, objects.recordsWhole = 0, 0
		_, err := log.Get(ctx, id, tc.rev, newest)
		require.ErrorIs(t, err, tc.want, "revision %d", tc.rev)
		require.Zero(t, objects.recordsWhole, "revision %d: the records are not listed whole", tc.rev)
		require.LessOrEqual(t, objects.recordsListed, 16, "revision %d: one page", tc.rev)
	}
}

// TestPruneListsDeltasBelowCut: the deltas of the revisions a Prune
// removes go with them, listed a page at a time up to the first one
// whose base is kept, not the whole folder of deltas.
func TestPruneListsDeltasBelowCut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	id := snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}
	objects := &pagedStore{Store: dir, deltas: snapshot.DeltaPrefix(id)}
	now := time.Unix(1790000000, 0)
	log := history.New(objects, history.Retention{Revisions: 30, Age: time.Hour}, func() time.Time { return now })
	log.SetDeltaPage(4)
	const newest = 40
	for rev := int64(1); rev <= newest; rev++ {
		require.NoError(t, log.Put(ctx, history.Record{Revision: rev, CreatedAt: now.Unix(), Since: rev - 1, ClusterID: id.ClusterID, Epoch: id.Epoch, State: history.StatePublished}))
		_, err := objects.Put(ctx, id.Key(rev), []byte("x"), objstore.Condition{})
		require.NoError(t, err)
		if rev > 1 {
			_, err = objects.Put(ctx, snapshot.DeltaKey(id, rev-1, rev), []byte("d"), objstore.Condition{})
			require.NoError(t, err)
		}
	}
	n, err := log.Prune(ctx, id, newest, newest)
	require.NoError(t, err)
	require.Equal(t, 10, n, "revisions 1 to 10 are past the retention")
	for rev := int64(2); rev <= newest; rev++ {
		_, _, err := objects.Get(ctx, snapshot.DeltaKey(id, rev-1, rev))
		if rev <= 10 {
			require.ErrorIs(t, err, objstore.ErrNotFound, "delta to %d", rev)
		} else {
			require.NoError(t, err, "delta to %d", rev)
		}
	}
	require.Zero(t, objects.whole, "the deltas are not listed whole")
	require.LessOrEqual(t, objects.listed, 9+1+4, "the 9 deltas removed, the one that straddles the cut, a page")
}
