package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testLostUpdates races writers that each add tags to one shared service,
// one read-modify-write per tag, retrying on ErrConflict as the Admin API
// does: every tag added is there at the end, and every successful update
// raised the revision once.
func testLostUpdates(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	shared := service("shared")
	start := mustCreate(t, s, shared)

	const writers, rounds = 8, 4
	var conflicts atomic.Int64
	errs := make([]error, writers)
	begin := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			for r := range rounds {
				tag := fmt.Sprintf("w%d-r%d", w, r)
				err := modify(ctx, s, shared, &conflicts, func(e model.Entity) {
					e.Meta().Tags = append(e.Meta().Tags, tag)
				})
				if err != nil {
					errs[w] = fmt.Errorf("adding %s: %w", tag, err)
					return
				}
			}
		}()
	}
	close(begin)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	got, err := s.Get(ctx, model.KindService, shared.ID)
	require.NoError(t, err)
	var want []string
	for w := range writers {
		for r := range rounds {
			want = append(want, fmt.Sprintf("w%d-r%d", w, r))
		}
	}
	require.ElementsMatch(t, want, got.Meta().Tags, "updates lost under the race (%d conflicts retried)", conflicts.Load())
	require.Equal(t, start+int64(writers*rounds), revision(t, s), "one revision per successful update")
	t.Logf("%d updates by %d writers, %d conflicts retried, none lost", writers*rounds, writers, conflicts.Load())
}

// testDeleteRace races the conditional delete of a credential with
// updates of it, round after round: once the delete succeeded the
// credential is gone for good, and every update that succeeded committed
// before the delete.
func testDeleteRace(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	c := consumer("alice")
	mustCreate(t, s, c)

	const rounds, updaters = 10, 3
	var conflicts atomic.Int64
	for round := range rounds {
		cred := keyAuth(fmt.Sprintf("key-%02d", round), c)
		mustCreate(t, s, cred)
		var deleted int64
		updated := make([]int64, updaters)
		errs := make([]error, updaters+1)
		begin := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(updaters + 1)
		go func() {
			defer wg.Done()
			<-begin
			deleted, errs[updaters] = deleteAtVersion(ctx, s, cred, &conflicts)
		}()
		for u := range updaters {
			go func() {
				defer wg.Done()
				<-begin
				updated[u], errs[u] = updateUnlessGone(ctx, s, cred, &conflicts, fmt.Sprintf("u%d", u))
			}()
		}
		close(begin)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "round %d", round)
		}
		requireAbsent(t, s, cred)
		_, err := s.Get(ctx, model.KindKeyAuth, cred.Key)
		requireCode(t, err, model.CodeNotFound)
		for _, rev := range updated {
			require.Less(t, rev, deleted, "round %d: an update committed after the delete", round)
		}
		require.Equal(t, deleted, revision(t, s), "round %d: nothing written after the delete", round)
	}
	t.Logf("%d rounds of a delete against %d updaters, %d conflicts retried, nothing resurrected", rounds, updaters, conflicts.Load())
}

// modify applies fn to the entity as read and updates it at the version
// read, starting over on ErrConflict.
func modify(ctx context.Context, s store.Store, e model.Entity, conflicts *atomic.Int64, fn func(model.Entity)) error {
	for {
		cur, ver, err := s.GetVersioned(ctx, e.Kind(), e.Meta().ID)
		if err != nil {
			return err
		}
		fn(cur)
		_, err = s.Update(ctx, cur, ver, origin)
		if !isConflict(err) {
			return err
		}
		conflicts.Add(1)
	}
}

// updateUnlessGone tags e as modify does and returns the revision of the
// update; 0 when the entity was gone (read or write not found).
func updateUnlessGone(ctx context.Context, s store.Store, e model.Entity, conflicts *atomic.Int64, tag string) (int64, error) {
	for {
		cur, ver, err := s.GetVersioned(ctx, e.Kind(), e.Meta().ID)
		if isNotFound(err) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		cur.Meta().Tags = append(cur.Meta().Tags, tag)
		rev, err := s.Update(ctx, cur, ver, origin)
		switch {
		case isNotFound(err):
			return 0, nil
		case isConflict(err):
			conflicts.Add(1)
		default:
			return rev, err
		}
	}
}

// deleteAtVersion deletes e at the version read, starting over on
// ErrConflict, and returns the revision of the delete.
func deleteAtVersion(ctx context.Context, s store.Store, e model.Entity, conflicts *atomic.Int64) (int64, error) {
	for {
		_, ver, err := s.GetVersioned(ctx, e.Kind(), e.Meta().ID)
		if err != nil {
			return 0, err
		}
		rev, err := s.Delete(ctx, e.Kind(), e.Meta().ID, ver, origin)
		if !isConflict(err) {
			return rev, err
		}
		conflicts.Add(1)
	}
}

// isConflict reports whether a conditional write lost to another write.
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// isNotFound reports whether the entity is gone.
func isNotFound(err error) bool { return errors.Is(err, &model.Error{Code: model.CodeNotFound}) }
