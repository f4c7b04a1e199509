package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// write is the outcome of one concurrent write.
type write struct {
	op  string // "create", "update" or "race"
	id  string // the service created, or the tag written on the shared entity
	rev int64
	err error
}

// export is one export observed while writers ran.
type export struct {
	rev      int64
	services []string
	err      error
}

// overwrite replaces the entity with e's id by e whatever it holds: it
// reads the version and updates conditionally until no write came between.
func overwrite(ctx context.Context, s store.Store, e model.Entity) (int64, error) {
	for {
		_, ver, err := s.GetVersioned(ctx, e.Kind(), e.Meta().ID)
		if err != nil {
			return 0, err
		}
		rev, err := s.Update(ctx, e, ver, origin)
		if !errors.Is(err, store.ErrConflict) {
			return rev, err
		}
	}
}

// testConcurrency runs 50 writers at once: each creates a service and
// updates one shared consumer; ten of them also race to create the same
// service name. Meanwhile exports must always be consistent.
func testConcurrency(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	shared := consumer("shared")
	start := mustCreate(t, s, shared)

	const writers = 50
	results := make(chan write, 3*writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := service(fmt.Sprintf("svc-%02d", i))
			rev, err := s.Create(ctx, svc, origin)
			results <- write{"create", svc.ID, rev, err}

			c := *shared
			c.Tags = []string{fmt.Sprintf("writer-%02d", i)}
			rev, err = overwrite(ctx, s, &c)
			results <- write{"update", c.Tags[0], rev, err}

			if i < 10 {
				racer := service("race")
				rev, err := s.Create(ctx, racer, origin)
				results <- write{"race", racer.ID, rev, err}
			}
		}()
	}
	done := make(chan struct{})
	exports := make(chan export, 1000)
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		defer close(exports)
		for finished := false; ; {
			select {
			case <-done:
				finished = true
			default:
			}
			cfg, rev, err := s.Export(ctx)
			if errors.Is(err, store.ErrUnstable) && !finished {
				continue // allowed while writers run; once they stop, Export must succeed
			}
			ex := export{rev: rev, err: err}
			if err == nil {
				for _, svc := range cfg.Services {
					ex.services = append(ex.services, svc.ID)
				}
			}
			select {
			case exports <- ex:
			default:
				return
			}
			if finished {
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	readers.Wait()
	close(results)

	var revs []int64
	createdAt := map[int64]string{}
	var lastUpdate write
	raceWins := 0
	for r := range results {
		if r.op == "race" && r.err != nil {
			requireCode(t, r.err, model.CodeUniqueViolation)
			continue
		}
		require.NoError(t, r.err, "%s %s", r.op, r.id)
		revs = append(revs, r.rev)
		switch r.op {
		case "race":
			raceWins++
			createdAt[r.rev] = r.id
		case "create":
			createdAt[r.rev] = r.id
		case "update":
			if r.rev > lastUpdate.rev {
				lastUpdate = r
			}
		}
	}
	require.Equal(t, 1, raceWins, "exactly one racing create of the same name wins")
	require.Len(t, revs, 2*writers+1)
	slices.Sort(revs)
	for i, rev := range revs {
		require.Equal(t, start+int64(i)+1, rev, "revisions of successful writes have no gap or duplicate")
	}
	require.Equal(t, revs[len(revs)-1], revision(t, s))

	got, err := s.Get(ctx, model.KindConsumer, shared.ID)
	require.NoError(t, err)
	require.Equal(t, []string{lastUpdate.id}, got.Meta().Tags, "the last committed update wins")

	changes, err := s.Changes(ctx, start, 1000)
	require.NoError(t, err)
	require.Len(t, changes, len(revs))

	// Every export saw exactly the services created at or before its revision.
	for ex := range exports {
		require.NoError(t, ex.err)
		var want []string
		for rev, id := range createdAt {
			if rev <= ex.rev {
				want = append(want, id)
			}
		}
		require.ElementsMatch(t, want, ex.services, "export at revision %d", ex.rev)
	}
}
