//go:build linux

package loop

import (
	"container/heap"
	"time"
)

// timerSlot is a Conn's entry for one direction: at most one live entry
// each, due no later than the deadline; one due earlier than a deadline
// that moved later arms itself again when it fires.
type timerSlot struct {
	seq   uint64
	when  int64
	armed bool
	// index is the live entry's place in the heap, so that a closed
	// connection's entry leaves it at once.
	index int
}

type timerEntry struct {
	when  int64
	seq   uint64
	c     *Conn
	write bool
}

// timerHeap orders the entries by when; an entry whose seq is no longer
// its slot's was replaced and is dropped when it comes up (lazy
// deletion).
type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h.track(i)
	h.track(j)
}

func (h *timerHeap) Push(x any) {
	*h = append(*h, x.(timerEntry))
	h.track(len(*h) - 1)
}

// track records where the live entry at i is.
func (h timerHeap) track(i int) {
	if s := h[i].slot(); s.seq == h[i].seq {
		s.index = i
	}
}

func (e *timerEntry) slot() *timerSlot {
	if e.write {
		return &e.c.wtimer
	}
	return &e.c.rtimer
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = timerEntry{}
	*h = old[:len(old)-1]
	return e
}

func (h *timerHeap) pop() timerEntry { return heap.Pop(h).(timerEntry) }

// disarm removes c's live entries from the heap (c is closed or leaves
// the loop).
func (l *Loop) disarm(c *Conn) {
	for _, s := range []*timerSlot{&c.rtimer, &c.wtimer} {
		if s.armed && s.index < len(l.timers) && l.timers[s.index].seq == s.seq {
			heap.Remove(&l.timers, s.index)
		}
		s.armed = false
	}
}

// arm makes sure an entry for c's direction fires no later than dl.
func (l *Loop) arm(c *Conn, write bool, dl int64) {
	slot := &c.rtimer
	if write {
		slot = &c.wtimer
	}
	if slot.armed && slot.when <= dl {
		return
	}
	l.timerSeq++
	*slot = timerSlot{seq: l.timerSeq, when: dl, armed: true}
	heap.Push(&l.timers, timerEntry{when: dl, seq: l.timerSeq, c: c, write: write})
}

// timeout is epoll_wait's timeout: milliseconds until the first entry,
// rounded up, or -1 without one.
func (h timerHeap) timeout() int {
	if len(h) == 0 {
		return -1
	}
	d := h[0].when - monoNow()
	if d <= 0 {
		return 0
	}
	return int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

// The loop's deadlines and timer entries are on monoNow's clock:
// nanoseconds since epoch on the monotonic clock. time.Now reads the
// wall clock too, which a deadline does not need, on every Read and
// Write with one; the monotonic clock alone costs about half.

// deadlineNanos is t on the deadline clock (monoNow), 0 for the zero
// time (no deadline) and 1 for a time before epoch (long past, and not
// "none"). A time from time.Now is measured by its monotonic reading, as
// Go's netpoller measures a deadline (time.Until); another by its wall
// clock, at the time it is set.
func deadlineNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	ns := int64(t.Sub(epoch))
	if ns <= 0 {
		return 1
	}
	return ns
}

// deadlineTime is ns, a deadline on the deadline clock, as a time.Time
// with a monotonic reading.
func deadlineTime(ns int64) time.Time { return epoch.Add(time.Duration(ns)) }
