//go:build linux && race

package loop

import (
	"bytes"
	"runtime"
	"strconv"
)

// taskGID is the calling goroutine's id, read from its stack trace: too
// slow for every park, cheap beside the race detector.
func taskGID() int64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	if i := bytes.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, _ := strconv.ParseInt(string(s), 10, 64)
	return id
}

// onTask reports whether the caller runs t's coroutine.
func onTask(t *task) bool { return taskGID() == t.gid }
