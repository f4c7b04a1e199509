package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// A resumable replace stages a generation named for its caller's job
// ("r-<name>") that outlives the process: it holds the token of what it
// stages (resumeKey) and the puts staged so far (stagedKey), written in
// the transaction of each batch. Open keeps such a generation; a later
// replace of the same name and token goes on after the last batch
// staged. Committing it removes both keys, so that, replaced later, it is
// deleted as any other.
var (
	resumeKey = []byte("resume")
	stagedKey = []byte("staged")
)

// resumableName is what a resumable replace may be named: a job's id.
var resumableName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func resumableGeneration(name string) string { return "r-" + name }

// ReplaceResumable is ReplaceInBatches for an import job: its staged
// generation is named for name (the job's attempt) and kept when the
// replace stops (the context ends, or the process stops) instead of
// deleted, and a later call with the same name and token (what the
// caller stages: the same token must mean the same configuration) goes
// on from the last batch staged, not from the start (progress reports
// the entities staged in all, those before included). A replace that
// fails otherwise deletes what it staged, as ReplaceInBatches does; so does one
// whose token differs from the one staged (it starts again). Run again
// once committed (its caller stopped before recording the commit), it
// stages nothing and returns the revision that made it current.
func (s *Store) ReplaceResumable(ctx context.Context, name, token string, cfg *model.Config, summary []string, o store.Origin, progress func(written int) error) (int64, error) {
	if !resumableName.MatchString(name) {
		return 0, fmt.Errorf("resumable replace %q: the name is not a job's", name)
	}
	if len(summary) == 0 {
		summary = []string{fmt.Sprintf("replace all: %d entities", cfg.Len())}
	}
	r, err := planReplace(cfg)
	if err != nil {
		return 0, err
	}
	gen := resumableGeneration(name)
	done, committed, err := s.resumeGeneration(gen, token)
	if err != nil {
		return 0, err
	}
	if committed != 0 {
		// Committed by a run that stopped before its caller recorded
		// it: done, at the revision that made it current.
		return committed, nil
	}
	var old string
	err = s.stageFrom(ctx, gen, r.runs(), done, true, progress)
	var rev int64
	if err == nil {
		rev, err = s.write(ctx, o, func(t txn) ([]string, error) {
			root := t.tx.Bucket(generationBucket(gen))
			if root != nil {
				if err := errors.Join(root.Delete(resumeKey), root.Delete(stagedKey)); err != nil {
					return nil, err
				}
			}
			var err error
			old, err = commitGeneration(t, gen)
			return summary, err
		})
	}
	if err != nil {
		if ctx.Err() == nil {
			if dropErr := s.dropGeneration(gen); dropErr != nil {
				err = errors.Join(err, dropErr)
			}
		}
		return 0, err
	}
	_ = s.dropGeneration(old)
	return rev, nil
}

// resumeGeneration returns the puts staged in generation gen for token,
// creating it (empty, marked with token) when it does not exist or was
// staged for another token; or, when gen is current already (committed
// by a run whose caller stopped before recording it), the revision that
// made it current.
func (s *Store) resumeGeneration(gen, token string) (done int, committed int64, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		if currentGeneration(tx) == gen {
			if committed = current(tx).base; committed == 0 {
				return fmt.Errorf("generation %s is current with no revision", gen)
			}
			return nil
		}
		if root := tx.Bucket(generationBucket(gen)); root != nil {
			if string(root.Get(resumeKey)) == token {
				if v := root.Get(stagedKey); len(v) == 8 {
					done = int(binary.BigEndian.Uint64(v))
				}
				return nil
			}
			if err := tx.DeleteBucket(generationBucket(gen)); err != nil {
				return err
			}
		}
		root, err := createGeneration(tx, gen)
		if err != nil {
			return err
		}
		return root.Put(resumeKey, []byte(token))
	})
	if err != nil {
		return 0, 0, fmt.Errorf("resuming generation %s: %w", gen, err)
	}
	return done, committed, nil
}

// Resumable lists the names of the resumable replaces staged and not
// committed.
func (s *Store) Resumable(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if gen, ok := strings.CutPrefix(string(name), "g:r-"); ok && b.Get(resumeKey) != nil {
				out = append(out, gen)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing resumable replaces: %w", err)
	}
	return out, nil
}

// DropResumable deletes what the resumable replace name staged (nothing
// once it is committed).
func (s *Store) DropResumable(ctx context.Context, name string) error {
	if !resumableName.MatchString(name) {
		return nil
	}
	return s.dropGeneration(resumableGeneration(name))
}

// resumable reports whether generation bucket b is a resumable replace's
// staged, not committed, generation: Open keeps it.
func resumable(b *bolt.Bucket) bool { return b != nil && b.Get(resumeKey) != nil }
