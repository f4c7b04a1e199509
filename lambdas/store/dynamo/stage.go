package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Stage writes entities under generation gen, aside: nothing reads a
// generation before CommitStaged makes it current. Staging an entity
// twice writes the same items, so a stage interrupted between batches is
// resumed by staging from where it was recorded. The caller checked the
// whole configuration (store.CheckConfig) before its first batch.
func (s *Store) Stage(ctx context.Context, gen string, entities []model.Entity) error {
	var reqs []types.WriteRequest
	for _, e := range entities {
		r, err := generationRequests(gen, e)
		if err != nil {
			return err
		}
		reqs = append(reqs, r...)
	}
	if err := s.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("staging generation %s: %w", gen, err)
	}
	return nil
}

// CommitStaged makes the staged generation gen current as one revision,
// replacing whatever the current generation holds (writes committed
// while it was staged included), and returns the revision and the
// generation it replaced, for the caller to drop (DropStaged) once it
// recorded the commit. Committing a generation that is current already
// commits nothing: rev is then the current revision and old empty, so a
// commit retried after a crash never drops what it made current.
func (s *Store) CommitStaged(ctx context.Context, gen string, summary []string, o store.Origin) (rev int64, old string, err error) {
	rev, err = retry(ctx, &s.mu, func(ctx context.Context) (int64, error) {
		st, err := s.state(ctx)
		if err != nil {
			return 0, err
		}
		if st.gen == gen {
			old = ""
			return st.rev, nil
		}
		old = st.gen
		return s.commit(ctx, st, s.newTxn(st), gen, summary, o)
	})
	if err != nil {
		return 0, "", err
	}
	return rev, old, nil
}

// DropStaged deletes every item of a generation that is not current: one
// staged that will not be committed, or one a commit replaced; best effort
// (a generation left behind is never read). The current generation is
// never dropped: a commit whose answer was lost may have made it current.
func (s *Store) DropStaged(ctx context.Context, gen string) {
	if st, err := s.state(ctx); err != nil || st.gen == gen {
		return
	}
	s.dropGeneration(ctx, gen)
}

// generationRequests are the puts that store e in generation gen: the
// entity, its unique values and its references.
func generationRequests(gen string, e model.Entity) ([]types.WriteRequest, error) {
	it, err := entityItem(gen, e, 0)
	if err != nil {
		return nil, err
	}
	reqs := []types.WriteRequest{{PutRequest: &types.PutRequest{Item: it}}}
	for _, u := range e.UniqueKeys() {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: uniqueItem(gen, e, u)}})
	}
	for _, r := range uniqueRefs(e) {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: refKey(gen, r, e)}})
	}
	return reqs, nil
}
