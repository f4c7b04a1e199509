package h1

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClientClosed is the cause (context.Cause) of a request context
// canceled because the client closed the connection while the request
// was in flight; the context's Err is context.Canceled.
var ErrClientClosed = errors.New("h1: client closed the connection")

// watchDelay is how long a request runs before the server watches its
// connection for the client going away. Most requests end sooner and
// never pay for the watch (a goroutine blocked in a one-byte read,
// aborted when the handler returns, which costs a goroutine, a read and
// two wake-ups); a client that leaves a slow request is noticed this late
// at most. 5 ms was too short under load: with 64 kept-alive clients on
// two busy cores, proxied requests often take longer, and the watch ran
// for many of them (5% of skyport dp's CPU profile under wrk -c64).
const watchDelay = 50 * time.Millisecond

// The phases of a watch.
const (
	watchOff     uint8 = iota
	watchArmed         // the delay runs
	watchFired         // the delay passed; waiting for the body's end
	watchReading       // the one-byte read is in flight
	watchAborted       // the handler returned; the read is being stopped
)

// watch notices a client that closes its connection while its request is
// in flight, as net/http's background read does: once the request body is
// read to its end and nothing more is buffered, a read of one byte runs
// beside the handler. End of stream or an error cancels the request's
// context (cause ErrClientClosed) and closes the connection after the
// exchange; a byte (the next pipelined request) is kept for the next
// request. The read is armed only after watchDelay, and only for a
// request whose handler asked for its context. It lives beside its conn
// in the pool.
//
// The delay is kept lazily, on one timer for every request of the
// connection that ticks every watchDelay while requests come, rather
// than reset and stopped on every request (two updates of the runtime's
// timer heap): arming a request counts it (seq), and a tick watches the
// request armed when the tick before it passed (tickSeq), which has run
// for watchDelay at least and less than twice that. A tick that finds no
// request armed since the one before stops the timer; the next request
// starts it, and the first tick after a start watches the request that
// started it.
type watch struct {
	mu    sync.Mutex
	phase uint8
	// eof says the request body was read to its end (or there is none)
	// with nothing buffered after it; off says a pipelined request is
	// buffered already, so there is nothing to watch.
	eof, off bool
	// running says a read goroutine was started and will send on done.
	running bool
	done    chan struct{}
	timer   *time.Timer
	// seq counts the requests armed; tickSeq is seq when the timer was
	// started or last ticked. ticking says the timer runs.
	seq, tickSeq uint64
	ticking      bool
	// What the read found: a byte of the next request, or the error
	// that ended the connection.
	b   [1]byte
	got bool
	err error
}

// requestContext gives the request in flight its context and arms the
// watch: a handler that never asks for the context cannot be told the
// client left, and pays for neither.
func (c *conn) requestContext() context.Context {
	if c.ctx == nil {
		ctx, cancel := context.WithCancelCause(c.s.ctx)
		c.abortMu.Lock()
		c.ctx, c.cancel = ctx, cancel
		c.abortMu.Unlock()
		c.arm()
	}
	return c.ctx
}

// Aborter is what a handler that needs no context is told by when its
// client goes away (Request.OnAbort): a connection's watch, or the
// server's Close, calls Abort.
type Aborter interface {
	// Abort is called at most once per request, from another goroutine
	// or the event loop serving the connection (or from OnAbort, for a
	// request whose context is canceled already),
	// while the handler runs: with ErrClientClosed when the client
	// closed the connection, ErrServerClosed when the server closed. It
	// must not block nor call back into the request.
	Abort(cause error)
}

// onAbort registers a for the request in flight and arms the watch.
// When the request's context was canceled already (the client went away
// after Context), a is told at once, from the caller's goroutine. A nil
// a forgets the Aborter registered: it is told under abortMu, so none is
// being told once this returns.
func (c *conn) onAbort(a Aborter) {
	c.abortMu.Lock()
	if a == nil {
		c.aborter = nil
		c.abortMu.Unlock()
		return
	}
	if c.ctx != nil && c.ctx.Err() != nil {
		c.aborter = nil
		c.abortMu.Unlock()
		a.Abort(context.Cause(c.ctx))
		return
	}
	c.aborter = a
	c.abortMu.Unlock()
	c.arm()
}

// arm starts the watch for the request in flight, once: the event
// loop's (loopWatchStart) on a connection that can tell its peer closed,
// else the read beside the handler.
func (c *conn) arm() {
	if !c.watching && !c.hijacked {
		c.watching = true
		if c.cw != nil {
			c.loopWatchStart()
			return
		}
		c.watchStart()
	}
}

// closeWatcher is a connection that tells when its peer closes or resets
// it without being read: dataplane/loop's connections, whose event loop
// sees it. WatchClose arms fn, called at most once, from the loop, until
// StopWatch with the number it returned; both are called from the
// connection's own task, and neither allocates.
type closeWatcher interface {
	WatchClose(fn func(error)) (watch uint64)
	StopWatch(watch uint64)
}

// detacher is a connection served by an event loop that can move to Go's
// netpoller (dataplane/loop's): from then on the code serving it runs on
// an ordinary goroutine and may block, or hand the connection to other
// goroutines. Called from the connection's own task.
type detacher interface {
	Detach() error
}

// loopWatchStart arms the event loop's watch for the request in flight:
// at once when its body was read to its end with nothing buffered after
// it, when the body ends (bodyEnded) otherwise; never when a pipelined
// request is buffered. Nothing reads the connection beside the handler,
// so a pipelined request's bytes stay in the socket, and nothing is
// delayed: arming costs the loop no system call.
func (c *conn) loopWatchStart() {
	if !c.req.body.done() {
		c.cwWait = true
		return
	}
	if c.r < c.w {
		return
	}
	if c.cwFn == nil {
		// Bound once: the conn is pooled and keeps it.
		c.cwFn = c.peerClosed
	}
	c.cwWatch = c.cw.WatchClose(c.cwFn)
}

// peerClosed is the event loop telling the request in flight its client
// closed or reset the connection.
func (c *conn) peerClosed(error) {
	c.cwGone.Store(true)
	c.abort(ErrClientClosed)
}

// loopWatchStop ends the event loop's watch; a client that went away
// closes the connection after the exchange.
func (c *conn) loopWatchStop() {
	c.cwWait = false
	if c.cwWatch != 0 {
		c.cw.StopWatch(c.cwWatch)
		c.cwWatch = 0
	}
	if c.cwGone.Swap(false) {
		c.closeAfter = true
	}
}

// detach moves the connection off its event loop (Request.Detach); the
// watch armed goes on as the read beside the handler. Nothing to do for a
// connection Go's netpoller serves already.
func (c *conn) detach() error {
	dt := c.dt
	if dt == nil {
		return nil
	}
	watching := c.cwWatch != 0 || c.cwWait
	c.loopWatchStop()
	c.cw, c.dt = nil, nil
	if err := dt.Detach(); err != nil {
		c.closeAfter = true
		return fmt.Errorf("h1: moving the connection off its event loop: %w", err)
	}
	if watching && !c.hijacked {
		c.watchStart()
	}
	return nil
}

// abort tells the request in flight its client went away: its context
// is canceled and its Aborter told, with cause.
func (c *conn) abort(cause error) {
	c.abortMu.Lock()
	defer c.abortMu.Unlock()
	if c.cancel != nil {
		c.cancel(cause)
	}
	if a := c.aborter; a != nil {
		c.aborter = nil
		a.Abort(cause)
	}
}

// watchStart arms the watch for the request in flight.
func (c *conn) watchStart() {
	if c.watch == nil {
		w := &watch{done: make(chan struct{}, 1)}
		// Bound to w, not read from c: a late run may overlap the
		// conn's release, which rewrites its fields.
		w.timer = time.AfterFunc(time.Hour, func() { c.watchFire(w) })
		w.timer.Stop()
		c.watch = w
	}
	w := c.watch
	ended := c.req.body.done()
	off := ended && c.r < c.w
	w.mu.Lock()
	w.phase, w.got, w.err = watchArmed, false, nil
	w.eof, w.off = ended && !off, off
	w.seq++
	start := !off && !w.ticking
	if start {
		w.ticking, w.tickSeq = true, w.seq
	}
	w.mu.Unlock()
	if start {
		w.timer.Reset(watchDelay)
	}
}

// watchFire is the timer's tick. The request armed since the tick before
// has run for watchDelay: the read starts when its body has ended, else
// bodyEnded starts it. Otherwise the timer ticks again while requests
// come (one was armed since the tick before), and stops when none did.
func (c *conn) watchFire(w *watch) {
	w.mu.Lock()
	if w.phase != watchArmed || w.off || w.seq != w.tickSeq {
		again := w.seq != w.tickSeq
		w.tickSeq, w.ticking = w.seq, again
		w.mu.Unlock()
		if again {
			w.timer.Reset(watchDelay)
		}
		return
	}
	// The request is watched: the timer rests until the next one.
	w.ticking = false
	w.phase = watchFired
	if !w.eof {
		w.mu.Unlock()
		return
	}
	w.phase, w.running = watchReading, true
	w.mu.Unlock()
	c.watchRead(w)
}

// bodyEnded is told, by whichever goroutine reads the body, that it was
// read to its end: the read may start now.
func (c *conn) bodyEnded() {
	if c.cw != nil {
		if c.cwWait {
			c.cwWait = false
			c.loopWatchStart()
		}
		return
	}
	w := c.watch
	if w == nil {
		return
	}
	pipelined := c.r < c.w
	w.mu.Lock()
	if pipelined {
		w.off = true
		w.mu.Unlock()
		return
	}
	w.eof = true
	if w.phase != watchFired {
		w.mu.Unlock()
		return
	}
	w.phase, w.running = watchReading, true
	w.mu.Unlock()
	go c.watchRead(w)
}

// watchRead reads one byte from the connection until watchStop aborts it.
func (c *conn) watchRead(w *watch) {
	w.mu.Lock()
	if w.phase != watchReading {
		w.mu.Unlock()
		w.done <- struct{}{}
		return
	}
	// Under the lock: watchStop's deadline in the past comes after it.
	_ = c.nc.SetReadDeadline(time.Time{})
	w.mu.Unlock()
	n, err := c.nc.Read(w.b[:])
	var ne net.Error
	gone := n == 0 && err != nil && !(errors.As(err, &ne) && ne.Timeout())
	w.mu.Lock()
	w.got = n > 0
	if gone {
		w.err = err
	}
	w.phase = watchOff
	w.mu.Unlock()
	if gone {
		c.abort(ErrClientClosed)
	}
	w.done <- struct{}{}
}

// watchStop ends the watch when the handler returns or hijacks: the read,
// if one runs, is aborted and waited for; a byte it read is kept for the
// next request, an end of stream closes the connection after the
// exchange. The conn's goroutine calls it; it is idempotent.
func (c *conn) watchStop() {
	c.loopWatchStop()
	w := c.watch
	if w == nil {
		return
	}
	w.mu.Lock()
	phase, running := w.phase, w.running
	w.phase, w.running = watchOff, false
	if phase == watchReading {
		w.phase = watchAborted
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
	w.mu.Unlock()
	// The timer ticks on (watchFire stops it): the next request of a
	// busy connection finds it running.
	if !running {
		return
	}
	<-w.done
	// The read deadline was moved: the next one is set whatever the last
	// one was.
	c.rdl = time.Time{}
	w.mu.Lock()
	w.phase = watchOff
	if w.got {
		c.pending, c.pendingByte = true, w.b[0]
	}
	if w.err != nil {
		c.closeAfter = true
	}
	w.mu.Unlock()
}

// endRequest stops the watch, forgets the Aborter and cancels the
// request's context, as net/http does when ServeHTTP returns. Without a
// context or an Aborter there is no watch to stop.
func (c *conn) endRequest() {
	if !c.watching && c.cancel == nil {
		return
	}
	if c.watching {
		c.watchStop()
		c.watching = false
	}
	c.abortMu.Lock()
	cancel := c.cancel
	c.ctx, c.cancel, c.aborter = nil, nil, nil
	c.abortMu.Unlock()
	if cancel != nil {
		cancel(context.Canceled)
	}
}

// aLongTimeAgo is a deadline in the past, which aborts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)
