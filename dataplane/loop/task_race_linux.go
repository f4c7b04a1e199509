//go:build linux && race

package loop

import (
	"bytes"
	"runtime"
	"sync"
)

// raceState is the buffer the loop's goroutine check reads stack traces
// into: one per loop, so that the check allocates nothing and allocation
// counts hold under -race too.
type raceState struct {
	mu  sync.Mutex
	buf [64]byte
}

// taskGID is the calling goroutine's id, read from its stack trace: too
// slow for every park, cheap beside the race detector.
func taskGID(l *Loop) int64 {
	r := &l.race
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.buf[:runtime.Stack(r.buf[:], false)]
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
func onTask(t *task) bool { return taskGID(t.l) == t.gid }
