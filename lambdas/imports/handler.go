package imports

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// DefaultReserve is the time an invocation keeps, before its deadline,
// to record progress and hand the job on.
const DefaultReserve = 2 * time.Minute

// Handler is the import Lambda: it runs the job its Event names until
// Reserve before the invocation's deadline, then invokes the function
// again (Continue) to go on from the last batch recorded. A job that
// fails is recorded as failed and the invocation succeeds: Lambda's own
// retries are for what kept the runner from recording (they resume it).
type Handler struct {
	Runner *Runner
	// Continue launches the next invocation (a LambdaLauncher of the
	// function itself).
	Continue Launcher
	// Reserve: 0 means DefaultReserve.
	Reserve time.Duration
	Logger  *slog.Logger
}

// Handle implements the Lambda handler.
func (h *Handler) Handle(ctx context.Context, ev Event) error {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reserve := h.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	var stopAt time.Time
	if dl, ok := ctx.Deadline(); ok {
		stopAt = dl.Add(-reserve)
	}
	more, err := h.Runner.Run(ctx, ev.Job, stopAt)
	switch {
	case errors.Is(err, ErrNotFound):
		log.WarnContext(ctx, "import job not found", "job", ev.Job)
		return nil
	case errors.Is(err, ErrBusy):
		// Another invocation advanced the job: it owns it now.
		log.WarnContext(ctx, "import job changed by another runner", "job", ev.Job)
		return nil
	case err != nil:
		return err
	case more:
		log.InfoContext(ctx, "import continues in a new invocation", "job", ev.Job)
		return h.Continue.Launch(ctx, ev.Job)
	}
	return nil
}
