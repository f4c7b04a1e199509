package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
	"github.com/skyport-gw/skyport/lambdas/store/storetest"
)

func open(t *testing.T) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "cp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestOnCommit(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var mu sync.Mutex
	var got []int64
	s.OnCommit(func(rev int64) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, rev)
	})
	svc := model.NewService()
	svc.ID = "0b6f1a44-5d8e-4a43-9c55-1f0d0c3b7a11"
	svc.Name = model.String("svc")
	_, err := s.Create(ctx, svc, store.Origin{})
	require.NoError(t, err)
	_, err = s.Create(ctx, svc, store.Origin{}) // fails: no commit
	require.Error(t, err)
	_, err = s.Delete(ctx, model.KindService, svc.ID, store.AnyVersion, store.Origin{})
	require.NoError(t, err)
	_, err = s.Delete(ctx, model.KindService, svc.ID, store.AnyVersion, store.Origin{}) // absent: no commit
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2}, got)
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cp.db")
	s, err := embedded.Open(path)
	require.NoError(t, err)
	c := &model.Consumer{Base: model.Base{ID: "7d1c3a8e-2b4f-4e6a-8c1d-3f5e7a9b0c2d"}, Username: model.String("alice")}
	_, err = s.Create(ctx, c, store.Origin{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = embedded.Open(path)
	require.NoError(t, err)
	defer s.Close()
	rev, err := s.Revision(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), rev)
	got, err := s.Get(ctx, model.KindConsumer, "alice")
	require.NoError(t, err)
	require.Equal(t, c, got)
}

// TestExportAfterPagesReleased: an export gives back the file pages it
// read every few entities and at the end; what it returns, and every
// read and write after it, see the store's data unchanged.
func TestExportAfterPagesReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := embedded.OpenWith(filepath.Join(t.TempDir(), "cp.db"), embedded.Options{ReleaseEvery: 7})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	cfg := &model.Config{}
	for i := range 500 {
		c := &model.Consumer{Base: model.Base{ID: fmt.Sprintf("00000000-0000-4000-a000-%012d", i)}, Username: model.String(fmt.Sprintf("user-%d", i))}
		cfg.Add(c)
	}
	_, err = s.ReplaceAll(ctx, cfg, store.Origin{})
	require.NoError(t, err)
	for round := range 3 {
		got, _, err := s.Export(ctx)
		require.NoError(t, err)
		require.Len(t, got.Consumers, 500+round)
		for i, c := range got.Consumers[:500] {
			require.Equal(t, fmt.Sprintf("user-%d", i), *c.Username)
		}
		e, err := s.Get(ctx, model.KindConsumer, "user-250")
		require.NoError(t, err)
		require.Equal(t, "00000000-0000-4000-a000-000000000250", e.Meta().ID)
		id := fmt.Sprintf("ffffffff-0000-4000-a000-%012d", round)
		_, err = s.Create(ctx, &model.Consumer{Base: model.Base{ID: id}, Username: model.String(id)}, store.Origin{})
		require.NoError(t, err)
	}
}
