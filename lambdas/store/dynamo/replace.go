package dynamo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// batchSize is BatchWriteItem's limit; batchWorkers how many batches are
// in flight at once.
const (
	batchSize    = 25
	batchWorkers = 4
)

// ReplaceAll implements store.Store: the new configuration is written
// aside as a new generation, then made current by the one transaction
// that raises the revision. Writes committed meanwhile are replaced too.
// The old generation is deleted afterwards, best effort; a generation
// left behind by a failure is never read.
func (s *Store) ReplaceAll(ctx context.Context, cfg *model.Config, o store.Origin) (int64, error) {
	if err := store.CheckConfig(cfg); err != nil {
		return 0, err
	}
	gen := uuid.NewString()
	if err := s.writeGeneration(ctx, gen, cfg); err != nil {
		s.dropGeneration(ctx, gen)
		return 0, err
	}
	rev, old, err := s.CommitStaged(ctx, gen, []string{fmt.Sprintf("replace all: %d entities", cfg.Len())}, o)
	if err != nil {
		s.dropGeneration(ctx, gen)
		return 0, err
	}
	if old != "" {
		s.dropGeneration(ctx, old)
	}
	return rev, nil
}

// swap makes cfg current as a new generation if the revision is still
// st's (errConflict otherwise).
func (s *Store) swap(ctx context.Context, st state, cfg *model.Config, summary []string, o store.Origin) (int64, error) {
	gen := uuid.NewString()
	if err := s.writeGeneration(ctx, gen, cfg); err != nil {
		s.dropGeneration(ctx, gen)
		return 0, err
	}
	rev, err := s.commit(ctx, st, s.newTxn(st), gen, summary, o)
	if err != nil {
		s.dropGeneration(ctx, gen)
		return 0, err
	}
	s.dropGeneration(ctx, st.gen)
	return rev, nil
}

// writeGeneration writes every item of cfg under generation gen.
func (s *Store) writeGeneration(ctx context.Context, gen string, cfg *model.Config) error {
	var reqs []types.WriteRequest
	var err error
	cfg.Each(func(e model.Entity) {
		if err != nil {
			return
		}
		var r []types.WriteRequest
		r, err = generationRequests(gen, e)
		reqs = append(reqs, r...)
	})
	if err != nil {
		return err
	}
	if err := s.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("writing generation %s: %w", gen, err)
	}
	return nil
}

// dropGeneration deletes every item of generation gen, best effort: items
// of a generation that is not current are never read.
func (s *Store) dropGeneration(ctx context.Context, gen string) {
	var reqs []types.WriteRequest
	for _, pk := range generationPKs(gen) {
		err := s.query(ctx, pk, "", "", func(it item) (bool, error) {
			k := key(pk, stringAttr(it, attrSK))
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
			return true, nil
		})
		if err != nil {
			return
		}
	}
	_ = s.batchWrite(ctx, reqs)
}

// batchWrite sends reqs in batches, a few at a time, resending
// unprocessed items with backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	batches := make(chan []types.WriteRequest)
	errs := make(chan error, batchWorkers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range batchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := s.writeBatch(ctx, b); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	go func() {
		defer close(batches)
		for i := 0; i < len(reqs); i += batchSize {
			select {
			case batches <- reqs[i:min(i+batchSize, len(reqs))]:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func (s *Store) writeBatch(ctx context.Context, b []types.WriteRequest) error {
	for attempt := 0; len(b) > 0; attempt++ {
		if attempt == maxAttempts {
			return fmt.Errorf("%d items left unprocessed", len(b))
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: b},
		})
		if err != nil {
			return err
		}
		b = out.UnprocessedItems[s.table]
		if len(b) > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(min(10*time.Millisecond<<min(attempt, 5), 300*time.Millisecond)):
			}
		}
	}
	return nil
}
