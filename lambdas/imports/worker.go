package imports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// queueLen bounds the jobs a Worker holds before it refuses more.
const queueLen = 64

// Worker runs import jobs in the process that started them (`skyport
// local`), one at a time: the local Launcher.
type Worker struct {
	runner *Runner
	queue  chan string
	log    *slog.Logger
}

var _ Launcher = (*Worker)(nil)

// NewWorker returns a worker of r's jobs; Run drives it.
func NewWorker(r *Runner) *Worker {
	return &Worker{runner: r, queue: make(chan string, queueLen), log: r.log}
}

// Launch implements Launcher: it queues the job for Run.
func (w *Worker) Launch(_ context.Context, id string) error {
	select {
	case w.queue <- id:
		return nil
	default:
		return fmt.Errorf("%d import jobs are waiting already; try again later", queueLen)
	}
}

// Run runs queued jobs until ctx ends. It first resumes the jobs a
// previous process left queued or running.
func (w *Worker) Run(ctx context.Context) error {
	w.resume(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-w.queue:
			w.runJob(ctx, id)
		}
	}
}

func (w *Worker) runJob(ctx context.Context, id string) {
	defer func() {
		if v := recover(); v != nil {
			w.log.ErrorContext(ctx, "import runner panic", "job", id, "panic", v)
		}
	}()
	if _, err := w.runner.Run(ctx, id, time.Time{}); err != nil && !errors.Is(err, context.Canceled) {
		w.log.ErrorContext(ctx, "running an import", "job", id, "error", err)
	}
}

// resume queues the jobs left queued or running, then deletes what the
// store keeps staged for a job that is neither (prune).
func (w *Worker) resume(ctx context.Context) {
	keys, err := w.runner.opts.Objects.List(ctx, "imports/")
	if err != nil {
		w.log.WarnContext(ctx, "listing import jobs", "error", err)
		return
	}
	active, complete := map[string]bool{}, true
	for _, k := range keys {
		id, ok := strings.CutSuffix(strings.TrimPrefix(k, "imports/"), "/job.json")
		if !ok || !ValidID(id) {
			continue
		}
		rec, _, err := load(ctx, w.runner.opts.Objects, id)
		if err != nil {
			complete = false
			continue
		}
		if rec.State == StateQueued || rec.State == StateRunning {
			active[rec.Generation] = true
			_ = w.Launch(ctx, id)
		}
	}
	if complete {
		w.prune(ctx, active)
	}
}

// prune deletes the resumable replaces the store keeps staged whose job
// attempt is not active: a job that failed, or was started again, while
// its replace was stopped.
func (w *Worker) prune(ctx context.Context, active map[string]bool) {
	rr, ok := w.runner.opts.Store.(ResumableReplacer)
	if !ok || w.runner.opts.Stager != nil {
		return
	}
	names, err := rr.Resumable(ctx)
	if err != nil {
		w.log.WarnContext(ctx, "listing staged imports", "error", err)
		return
	}
	for _, name := range names {
		if active[name] {
			continue
		}
		if err := rr.DropResumable(ctx, name); err != nil {
			w.log.WarnContext(ctx, "dropping a staged import", "generation", name, "error", err)
		}
	}
}
