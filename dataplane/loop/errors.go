package loop

import (
	"errors"
	"runtime"
)

// ErrUnsupported is Serve's error where there are no event loops.
var ErrUnsupported = errors.New("loop: event loops are not supported on " + runtime.GOOS)

// ErrNotTask is what a Read, Write or Dial that would park gets when it
// runs on a goroutine that is not its loop's running task (one the task
// started, or any other): only the task may park on its loop. Checked in
// race-enabled builds only, where telling goroutines apart is cheap beside
// the detector's own cost (see the package doc for why no cheap check
// exists); elsewhere such a call is undefined.
var ErrNotTask = errors.New("loop: a Conn used from a goroutine that is not its loop's task")
