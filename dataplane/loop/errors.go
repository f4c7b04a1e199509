package loop

import (
	"errors"
	"runtime"
)

// ErrUnsupported is Serve's error where there are no event loops.
var ErrUnsupported = errors.New("loop: event loops are not supported on " + runtime.GOOS)
