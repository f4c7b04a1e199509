//go:build linux && race

package loop_test

import (
	"errors"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/loop"
)

// A Read on a loop's Conn from a goroutine the task started (what a
// response spool's reader did) fails with loop.ErrNotTask instead of
// parking: parking would resume the task's coroutine from that goroutine
// while the loop runs on, two goroutines on one task. Under -race only:
// telling goroutines apart costs a stack trace.
func TestReadFromAnotherGoroutine(t *testing.T) {
	type result struct {
		err     error
		taskErr error
	}
	results := make(chan result, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		foreign := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 16))
			foreign <- err
		}()
		// Blocking the loop here is the point: nothing arrives for
		// the goroutine's Read, which must not park.
		err := <-foreign
		// The task itself still reads as usual afterwards.
		_, terr := c.Read(make([]byte, 16))
		results <- result{err, terr}
	})
	cc := dial(t, addr)
	// The goroutine's Read fails without the client writing; then the
	// task's own Read gets the client's bytes.
	if _, err := cc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-results:
	case <-time.After(time.Minute):
		t.Fatal("the task did not go on: the goroutine's Read parked it")
	}
	if !errors.Is(r.err, loop.ErrNotTask) {
		t.Errorf("Read from another goroutine: %v, want loop.ErrNotTask", r.err)
	}
	if r.taskErr != nil {
		t.Errorf("the task's own Read after it: %v", r.taskErr)
	}
}
