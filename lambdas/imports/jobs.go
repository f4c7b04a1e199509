package imports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// UploadTTL is how long an upload URL is valid.
const UploadTTL = time.Hour

// Launcher hands a started job to a runner: the import Lambda invoked
// asynchronously in AWS, a Worker in local mode.
type Launcher interface {
	Launch(ctx context.Context, id string) error
}

// Options configures Jobs.
type Options struct {
	// Objects holds the records and uploads. Required.
	Objects objstore.Store
	// Presigner makes the upload URLs. Required.
	Presigner objstore.PutPresigner
	// Launcher runs started jobs. Required.
	Launcher Launcher
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Jobs creates, shows and starts import jobs: what the Admin API does.
type Jobs struct {
	opts Options
	now  func() time.Time
}

// NewJobs returns the import jobs over opts.
func NewJobs(opts Options) *Jobs {
	j := &Jobs{opts: opts, now: opts.Now}
	if j.now == nil {
		j.now = time.Now
	}
	return j
}

// Create records a new job and returns it with its upload URL.
func (j *Jobs) Create(ctx context.Context) (Job, error) {
	now := j.now()
	rec := record{Job: Job{ID: uuid.NewString(), State: StateAwaitingUpload, CreatedAt: now.Unix(), UpdatedAt: now.Unix()}}
	url, err := j.opts.Presigner.PresignPut(ctx, UploadKey(rec.ID), UploadTTL)
	if err != nil {
		return Job{}, fmt.Errorf("creating import job: %w", err)
	}
	if _, err := save(ctx, j.opts.Objects, rec, ""); err != nil {
		return Job{}, err
	}
	job := rec.Job
	job.Upload = &Upload{URL: url, Method: "PUT", ExpiresAt: now.Add(UploadTTL).Unix()}
	return job, nil
}

// Get returns the job (ErrNotFound when there is none).
func (j *Jobs) Get(ctx context.Context, id string) (Job, error) {
	rec, _, err := load(ctx, j.opts.Objects, id)
	return rec.Job, err
}

// Start queues the job and launches it: a job awaiting its upload once
// uploaded (ErrNoUpload before), or a failed one again (a retry, on a
// new generation). Anything else is ErrState.
func (j *Jobs) Start(ctx context.Context, id string, o store.Origin) (Job, error) {
	rec, etag, err := load(ctx, j.opts.Objects, id)
	if err != nil {
		return Job{}, err
	}
	if rec.State != StateAwaitingUpload && rec.State != StateFailed {
		return rec.Job, fmt.Errorf("import job %s is %s: %w", id, rec.State, ErrState)
	}
	keys, err := j.opts.Objects.List(ctx, "imports/"+id+"/")
	if err != nil {
		return Job{}, fmt.Errorf("looking for the upload of import job %s: %w", id, err)
	}
	if !slices.Contains(keys, UploadKey(id)) {
		return rec.Job, ErrNoUpload
	}
	now := j.now().Unix()
	rec.State, rec.Attempt, rec.Error = StateQueued, rec.Attempt+1, ""
	rec.Written, rec.Total, rec.Revision, rec.FinishedAt = 0, 0, 0, 0
	rec.StartedAt, rec.UpdatedAt = now, now
	rec.Generation, rec.Origin = uuid.NewString(), o
	rec.RestFrom, rec.Rest = 0, nil
	etag, err = save(ctx, j.opts.Objects, rec, etag)
	if err != nil {
		return Job{}, err
	}
	if err := j.opts.Launcher.Launch(ctx, id); err != nil {
		rec.State, rec.Error, rec.FinishedAt = StateFailed, "launching the import: "+err.Error(), now
		_, _ = save(ctx, j.opts.Objects, rec, etag)
		return rec.Job, nil
	}
	return rec.Job, nil
}
