package imports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// States of a job.
const (
	// StateAwaitingUpload: created, waiting for its upload and its start.
	StateAwaitingUpload = "awaiting_upload"
	// StateQueued: started, waiting for a runner.
	StateQueued = "queued"
	// StateRunning: a runner is staging its entities.
	StateRunning = "running"
	// StateSucceeded: its configuration is current as Revision.
	StateSucceeded = "succeeded"
	// StateFailed: nothing of it is visible; Error says why. It may be
	// started again.
	StateFailed = "failed"
)

// MaxUploadBytes bounds an upload, as the Admin API bounds a
// POST /config body.
const MaxUploadBytes = 256 << 20

// maxRecordBytes bounds a job record when read.
const maxRecordBytes = 64 << 10

// Errors of Jobs and Runner, checked with errors.Is.
var (
	// ErrNotFound: no job has this id.
	ErrNotFound = errors.New("no such import job")
	// ErrNoUpload: the job was started before anything was uploaded.
	ErrNoUpload = errors.New("nothing was uploaded for this import job")
	// ErrState: the job cannot be started in its state.
	ErrState = errors.New("the import job cannot be started in its state")
	// ErrBusy: the record changed under the caller (another runner, or a
	// concurrent start).
	ErrBusy = errors.New("the import job was changed concurrently")
)

// Job is an import job as the Admin API shows it.
type Job struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// CreatedAt, UpdatedAt, StartedAt and FinishedAt are epoch seconds.
	CreatedAt  int64 `json:"created_at"`
	UpdatedAt  int64 `json:"updated_at"`
	StartedAt  int64 `json:"started_at,omitempty"`
	FinishedAt int64 `json:"finished_at,omitempty"`
	// Size is the upload's size in bytes, once a runner read it.
	Size int64 `json:"size,omitempty"`
	// Total is the number of entities of the upload, once parsed;
	// Written how many of them are staged.
	Total   int `json:"total"`
	Written int `json:"written"`
	// Revision is the revision that made the configuration current.
	Revision int64 `json:"revision,omitempty"`
	// Error says why the job failed.
	Error string `json:"error,omitempty"`
	// Attempt counts the starts.
	Attempt int `json:"attempt"`
	// Upload is where to upload the configuration: only in the answer
	// that created the job.
	Upload *Upload `json:"upload,omitempty"`
}

// Upload is a presigned upload: PUT the document's bytes to URL before
// ExpiresAt (epoch seconds).
type Upload struct {
	URL       string `json:"url"`
	Method    string `json:"method"`
	ExpiresAt int64  `json:"expires_at"`
}

// record is what job.json holds: the job and what a runner resumes from.
type record struct {
	Job
	// Generation is the store generation the current attempt stages.
	Generation string `json:"generation,omitempty"`
	// Origin is the start request, for the change history.
	Origin store.Origin `json:"origin"`
	// Rest, when set, holds the entities from RestFrom on, parsed and
	// checked, in parts (imports/<id>/rest/<generation>/<from>-<k>.json.gz):
	// an invocation that hands the job on writes them, and the next ones
	// stage from them instead of parsing the upload again.
	RestFrom int    `json:"rest_from,omitempty"`
	Rest     []part `json:"rest,omitempty"`
}

// Event is the import Lambda's payload: the job to run (or continue).
type Event struct {
	Job string `json:"job"`
}

func recordKey(id string) string { return "imports/" + id + "/job.json" }

// UploadKey is the object an import job's document is uploaded to.
func UploadKey(id string) string { return "imports/" + id + "/config" }

// ValidID reports whether id is a job id (a UUID): anything else names
// no job and never reaches the object store.
func ValidID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// load reads a job's record and its ETag.
func load(ctx context.Context, objects objstore.Store, id string) (record, string, error) {
	if !ValidID(id) {
		return record{}, "", ErrNotFound
	}
	data, etag, err := objstore.GetMax(ctx, objects, recordKey(id), maxRecordBytes)
	if errors.Is(err, objstore.ErrNotFound) {
		return record{}, "", ErrNotFound
	}
	if err != nil {
		return record{}, "", fmt.Errorf("reading import job %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return record{}, "", fmt.Errorf("decoding import job %s: %w", id, err)
	}
	return rec, etag, nil
}

// save writes rec conditionally on etag (create-only when empty) and
// returns the new ETag; ErrBusy when the record changed since it was read.
func save(ctx context.Context, objects objstore.Store, rec record, etag string) (string, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encoding import job %s: %w", rec.ID, err)
	}
	cond := objstore.Condition{IfMatch: etag, IfNoneMatch: etag == ""}
	next, err := objects.Put(ctx, recordKey(rec.ID), data, cond)
	if errors.Is(err, objstore.ErrPrecondition) {
		return "", fmt.Errorf("saving import job %s: %w", rec.ID, ErrBusy)
	}
	if err != nil {
		return "", fmt.Errorf("saving import job %s: %w", rec.ID, err)
	}
	return next, nil
}
