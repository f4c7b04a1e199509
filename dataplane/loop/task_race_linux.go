//go:build linux && race

package loop

import (
	"bytes"
	"runtime"
	"sync"
)

// stack is the buffer taskGID reads stack traces into, one for the
// process, so that the check allocates nothing and allocation counts
// hold under -race too.
var stack struct {
	mu  sync.Mutex
	buf [64]byte
}

// taskGID is the calling goroutine's id, read from its stack trace: too
// slow for every park, cheap beside the race detector.
func taskGID() int64 {
	stack.mu.Lock()
	defer stack.mu.Unlock()
	s := stack.buf[:runtime.Stack(stack.buf[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	var id int64
	for _, d := range s {
		if d < '0' || d > '9' {
			break
		}
		id = id*10 + int64(d-'0')
	}
	return id
}

// onTask reports whether the caller runs t's coroutine.
func onTask(t *task) bool { return taskGID() == t.gid }
