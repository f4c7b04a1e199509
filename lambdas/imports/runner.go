package imports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// DefaultBatch is how many entities a runner stages between two
// progress records.
const DefaultBatch = 2000

// maxErrorLen bounds the error a failed job records.
const maxErrorLen = 2000

// Stager is a store that writes a configuration aside, in batches, and
// makes it current in one revision (dynamo.Store). A store without it
// is loaded with ReplaceAll at once.
type Stager interface {
	Stage(ctx context.Context, gen string, entities []model.Entity) error
	CommitStaged(ctx context.Context, gen string, summary []string, o store.Origin) (rev int64, old string, err error)
	DropStaged(ctx context.Context, gen string)
}

// BatchReplacer is a store that replaces the configuration by staging it
// in batches itself and making it current in one revision, reporting the
// entities staged after each batch. A replace that stops midway leaves
// nothing staged, so a job resumed after a restart stages again from the
// start.
type BatchReplacer interface {
	ReplaceInBatches(ctx context.Context, cfg *model.Config, summary []string, o store.Origin, progress func(written int) error) (int64, error)
}

// ResumableReplacer is a BatchReplacer whose replace, named for the job's
// attempt (its Generation), keeps what it staged when it stops and goes
// on from the last batch staged when run again with the same token (the
// configuration's hash) (embedded.Store): a job resumed after a restart
// does not stage again what it had staged.
type ResumableReplacer interface {
	ReplaceResumable(ctx context.Context, name, token string, cfg *model.Config, summary []string, o store.Origin, progress func(written int) error) (int64, error)
	// DropResumable deletes what the replace name staged.
	DropResumable(ctx context.Context, name string) error
	// Resumable lists the replaces staged and not committed.
	Resumable(ctx context.Context) ([]string, error)
}

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	// Objects holds the records and uploads. Required.
	Objects objstore.Store
	// Store is the configuration store. Required.
	Store store.Store
	// Stager stages in batches; nil uses Store itself when it is a
	// Stager, else Store's ReplaceInBatches when it is a BatchReplacer,
	// else Store.ReplaceAll.
	Stager Stager
	// Batch is the number of entities between progress records; 0 means
	// DefaultBatch.
	Batch int
	// PartSize is the number of entities per part of the rest a runner
	// keeps when it hands a job on (Run's more); 0 means DefaultPartSize.
	PartSize int
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Runner runs import jobs.
type Runner struct {
	opts RunnerOptions
	now  func() time.Time
	log  *slog.Logger
}

// NewRunner returns a runner over opts.
func NewRunner(opts RunnerOptions) *Runner {
	r := &Runner{opts: opts, now: opts.Now, log: opts.Logger}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.opts.Batch <= 0 {
		r.opts.Batch = DefaultBatch
	}
	if r.opts.PartSize <= 0 {
		r.opts.PartSize = DefaultPartSize
	}
	if r.opts.Stager == nil {
		r.opts.Stager, _ = opts.Store.(Stager)
	}
	return r
}

// run is one pass of a runner over a job.
type run struct {
	*Runner
	rec  record
	etag string
}

// Run runs job id, or continues it from the last batch it recorded. It
// stops between batches once the clock reaches stopAt (never when stopAt
// is zero) and returns more = true: the caller runs it again (the Lambda
// invokes itself). A job that is not queued or running is left alone. A
// job that cannot complete is recorded as failed, its staged entities
// dropped; err is only for what kept the runner from recording progress
// (the record changed under it: ErrBusy, or the context ended).
func (r *Runner) Run(ctx context.Context, id string, stopAt time.Time) (more bool, err error) {
	rec, etag, err := load(ctx, r.opts.Objects, id)
	if err != nil {
		return false, err
	}
	if rec.State != StateQueued && rec.State != StateRunning {
		return false, nil
	}
	x := &run{Runner: r, rec: rec, etag: etag}
	if rec.State == StateQueued {
		x.rec.State = StateRunning
		if err := x.save(ctx); err != nil {
			return false, err
		}
	}
	return x.run(ctx, stopAt)
}

func (x *run) run(ctx context.Context, stopAt time.Time) (bool, error) {
	st := x.opts.Stager
	if st != nil && x.rec.Rest != nil {
		return x.runRest(ctx, st, stopAt)
	}
	cfg, size, err := x.read(ctx)
	if err != nil {
		return false, x.fail(ctx, err)
	}
	entities := make([]model.Entity, 0, cfg.Len())
	cfg.Each(func(e model.Entity) { entities = append(entities, e) })
	x.rec.Size, x.rec.Total = size, len(entities)
	if rr, ok := x.opts.Store.(ResumableReplacer); ok && st == nil {
		return false, x.replaceResumable(ctx, rr, cfg)
	}
	if br, ok := x.opts.Store.(BatchReplacer); ok && st == nil {
		return false, x.replaceInBatches(ctx, br, cfg)
	}
	if st == nil {
		rev, err := x.opts.Store.ReplaceAll(ctx, cfg, x.rec.Origin)
		if err != nil {
			return false, x.fail(ctx, err)
		}
		x.rec.Written = len(entities)
		return false, x.succeed(ctx, rev)
	}
	stopped, err := x.stage(ctx, st, entities, 0, stopAt)
	switch {
	case err != nil || x.rec.State == StateFailed:
		return false, err
	case stopped:
		// The rest is kept parsed: the next invocations stage it
		// without parsing the upload again.
		if err := x.keepRest(ctx, entities[x.rec.Written:]); err != nil {
			x.log.WarnContext(ctx, "keeping the rest of an import; the next invocation parses the upload again",
				"job", x.rec.ID, "error", err)
		}
		return true, x.save(ctx)
	}
	return false, x.commit(ctx, st)
}

// runRest goes on with a job whose rest an earlier invocation kept in
// parts: from the part that holds the next entity to stage.
func (x *run) runRest(ctx context.Context, st Stager, stopAt time.Time) (bool, error) {
	first := x.rec.RestFrom
	for k, p := range x.rec.Rest {
		if x.rec.Written >= first+p.Len {
			first += p.Len
			continue
		}
		entities, err := x.readPart(ctx, k)
		if err != nil {
			return false, x.fail(ctx, err)
		}
		stopped, err := x.stage(ctx, st, entities, first, stopAt)
		switch {
		case err != nil || x.rec.State == StateFailed:
			return false, err
		case stopped:
			return true, x.save(ctx)
		}
		first += p.Len
	}
	if x.rec.Written != x.rec.Total {
		return false, x.fail(ctx, fmt.Errorf("the kept parts hold %d of %d entities", x.rec.Written, x.rec.Total))
	}
	return false, x.commit(ctx, st)
}

// stage stages entities, the job's from index first on, from the first
// one not written yet, a batch at a time, recording the progress after
// each. It reports stopped when the clock reached stopAt first, with the
// progress not saved yet. A stage that fails is recorded as the job's
// failure (the record's state tells; err is the recording's).
func (x *run) stage(ctx context.Context, st Stager, entities []model.Entity, first int, stopAt time.Time) (stopped bool, err error) {
	for x.rec.Written < first+len(entities) {
		if !stopAt.IsZero() && !x.now().Before(stopAt) {
			return true, nil
		}
		from := x.rec.Written - first
		end := min(from+x.opts.Batch, len(entities))
		if err := st.Stage(ctx, x.rec.Generation, entities[from:end]); err != nil {
			return false, x.fail(ctx, err)
		}
		x.rec.Written = first + end
		if err := x.save(ctx); err != nil {
			return false, err
		}
	}
	return false, nil
}

// commit makes the staged generation current in one revision.
func (x *run) commit(ctx context.Context, st Stager) error {
	rev, old, err := st.CommitStaged(ctx, x.rec.Generation, x.summary(), x.rec.Origin)
	if err != nil {
		return x.fail(ctx, err)
	}
	if err := x.succeed(ctx, rev); err != nil {
		return err
	}
	if old != "" {
		st.DropStaged(ctx, old)
	}
	return nil
}

// summary is the change history's summary of the job's revision.
func (x *run) summary() []string {
	return []string{fmt.Sprintf("import %s: %d entities", x.rec.ID, x.rec.Total)}
}

// replaceInBatches loads cfg with the store's own batches, recording
// the progress after each.
func (x *run) replaceInBatches(ctx context.Context, br BatchReplacer, cfg *model.Config) error {
	x.rec.Written = 0
	return x.finish(ctx, func(progress func(int) error) (int64, error) {
		return br.ReplaceInBatches(ctx, cfg, x.summary(), x.rec.Origin, progress)
	})
}

// replaceResumable loads cfg with the store's own resumable batches,
// named for the job's attempt, recording the progress after each: a job
// resumed after a restart goes on from the last batch the store staged,
// provided it parsed the upload to the same configuration. The token is
// cfg's hash, not the upload's: a parse may generate values (a key-auth
// credential's absent key), and the batches of two parses would not be
// one configuration (entities with one parse's keys, unique values with
// the other's); such a job stages again from the start.
func (x *run) replaceResumable(ctx context.Context, rr ResumableReplacer, cfg *model.Config) error {
	digest, err := snapshot.DigestOf(cfg)
	if err != nil {
		return x.fail(ctx, fmt.Errorf("hashing the configuration: %w", err))
	}
	token := digest.Hash()
	return x.finish(ctx, func(progress func(int) error) (int64, error) {
		return rr.ReplaceResumable(ctx, x.rec.Generation, token, cfg, x.summary(), x.rec.Origin, progress)
	})
}

// finish runs a store's replace, recording the entities written after
// each of its batches, and records the job's end.
func (x *run) finish(ctx context.Context, replace func(progress func(written int) error) (int64, error)) error {
	rev, err := replace(func(written int) error {
		x.rec.Written = written
		return x.save(ctx)
	})
	if errors.Is(err, ErrBusy) {
		return err
	}
	if err != nil {
		return x.fail(ctx, err)
	}
	x.rec.Written = x.rec.Total
	return x.succeed(ctx, rev)
}

// read reads, parses and checks the upload; entities get the job's start
// as their timestamps, so every pass over the job stages the same ones.
func (x *run) read(ctx context.Context) (*model.Config, int64, error) {
	doc, _, err := objstore.GetMax(ctx, x.opts.Objects, UploadKey(x.rec.ID), MaxUploadBytes)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return nil, 0, errors.New("the upload is gone (uploads expire): create a new import job")
	case errors.Is(err, objstore.ErrTooLarge):
		return nil, 0, fmt.Errorf("the upload is larger than %d bytes", MaxUploadBytes)
	case err != nil:
		return nil, 0, fmt.Errorf("reading the upload: %w", err)
	}
	cfg, err := declarative.Parse(doc)
	if err != nil {
		return nil, 0, fmt.Errorf("declarative config is invalid: %w", err)
	}
	cfg.Each(func(e model.Entity) {
		m := e.Meta()
		if m.CreatedAt == 0 {
			m.CreatedAt = x.rec.StartedAt
		}
		if m.UpdatedAt == 0 {
			m.UpdatedAt = x.rec.StartedAt
		}
	})
	if err := store.CheckConfig(cfg); err != nil {
		return nil, 0, err
	}
	return cfg, int64(len(doc)), nil
}

func (x *run) save(ctx context.Context) error {
	x.rec.UpdatedAt = x.now().Unix()
	etag, err := save(ctx, x.opts.Objects, x.rec, x.etag)
	if err != nil {
		return err
	}
	x.etag = etag
	return nil
}

// fail records the failure, then drops what was staged and the kept
// rest. A context that ended is not the job's failure: the job stays
// running, to be resumed. A runner that cannot record the failure (the
// record changed under it: another runner of the job went on) drops
// nothing, the staged generation and the rest being that runner's.
func (x *run) fail(ctx context.Context, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	x.log.WarnContext(ctx, "import failed", "job", x.rec.ID, "error", cause)
	msg := strings.Join(strings.Fields(cause.Error()), " ")
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen] + "…"
	}
	x.rec.State, x.rec.Error, x.rec.FinishedAt = StateFailed, msg, x.now().Unix()
	if err := x.save(ctx); err != nil {
		return err
	}
	if x.opts.Stager != nil {
		x.opts.Stager.DropStaged(ctx, x.rec.Generation)
	} else if rr, ok := x.opts.Store.(ResumableReplacer); ok {
		if err := rr.DropResumable(ctx, x.rec.Generation); err != nil {
			x.log.WarnContext(ctx, "dropping what an import staged", "job", x.rec.ID, "error", err)
		}
	}
	x.dropRest(ctx)
	return nil
}

// succeed records the revision and removes the upload, which is not
// needed any more.
func (x *run) succeed(ctx context.Context, rev int64) error {
	x.rec.State, x.rec.Revision, x.rec.FinishedAt = StateSucceeded, rev, x.now().Unix()
	if err := x.save(ctx); err != nil {
		return err
	}
	if err := x.opts.Objects.Delete(ctx, UploadKey(x.rec.ID)); err != nil {
		x.log.WarnContext(ctx, "removing an import's upload", "job", x.rec.ID, "error", err)
	}
	x.dropRest(ctx)
	return nil
}
