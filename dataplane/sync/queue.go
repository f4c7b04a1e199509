package sync

import (
	stdsync "sync"

	"github.com/skyport-gw/skyport/internal/protocol"
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
	// delta is the delta a notice offers for the revision; nil for none.
	delta *protocol.DeltaNotice
	// chainURLs are presigned GETs of ptr's chain, by index, when the
	// notice gave them; empty to read the fallback store.
	chainURLs []string
}

// maxCandidates bounds the snapshots held for one revision.
const maxCandidates = 4

// queue holds the newest announced revision only: the applier always
// moves to the newest revision, skipping any it had no time to apply. It
// holds every distinct snapshot announced for that revision (up to
// maxCandidates), so a forged announcement of a revision never displaces
// the genuine one: the first that applies makes the others not newer.
type queue struct {
	mu   stdsync.Mutex
	next []job
	// wake has room for one signal: a pending job.
	wake chan struct{}
}

func newQueue() queue { return queue{wake: make(chan struct{}, 1)} }

// offer holds j unless a newer revision (or epoch: newer), or the same
// snapshot, is held already; it reports whether j was kept.
func (q *queue) offer(j job) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.next) > 0 {
		switch order := newer(q.next[0].ptr, j.ptr); {
		case order < 0:
			return false
		case order > 0:
			q.next = q.next[:0]
		case len(q.next) == maxCandidates:
			return false
		}
		for _, h := range q.next {
			if h.ptr.SHA256 == j.ptr.SHA256 {
				return false
			}
		}
	}
	q.next = append(q.next, j)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns the oldest held job.
func (q *queue) take() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.next) == 0 {
		return job{}, false
	}
	j := q.next[0]
	q.next = q.next[1:]
	return j, true
}
