package sync

import (
	stdsync "sync"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// job is an announced revision to fetch and apply.
type job struct {
	// ptr names and verifies the snapshot.
	ptr snapshot.Pointer
	// url is a presigned GET for it; empty to read the fallback store.
	url string
	// source is where the announcement came from: cp or fallback.
	source string
}

// queue holds the newest announced job only: the applier always moves to
// the newest revision, skipping any it had no time to apply.
type queue struct {
	mu   stdsync.Mutex
	next *job
	// wake has room for one signal: a pending job.
	wake chan struct{}
}

func newQueue() queue { return queue{wake: make(chan struct{}, 1)} }

// offer holds j unless a job at least as new is already held; it reports
// whether j was kept.
func (q *queue) offer(j job) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next != nil && q.next.ptr.Revision >= j.ptr.Revision {
		return false
	}
	q.next = &j
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns the held job.
func (q *queue) take() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next == nil {
		return job{}, false
	}
	j := *q.next
	q.next = nil
	return j, true
}
