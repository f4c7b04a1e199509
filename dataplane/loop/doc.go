// Package loop serves TCP connections on event loops: each loop is one
// goroutine that owns an epoll instance (edge-triggered), and every
// connection it accepts runs its serve function as a coroutine (iter.Pull)
// on that goroutine. The coroutine's code is ordinary synchronous code over
// a net.Conn (dataplane/h1's per-connection loop, the proxy's upstream
// client): a Read that would block parks the coroutine until the loop sees
// the descriptor's edge or the deadline's timer, and the loop switches to
// the next ready coroutine directly, without the Go scheduler.
//
// Compared with Go's netpoller this saves, per request and socket, the
// read that finds nothing before a goroutine parks (a Conn remembers the
// last edge and parks without trying) and the scheduler's hand-offs.
//
// # API
//
//	Serve(ln *net.TCPListener, n int, serve func(*Conn), opts ...Option) (*Group, error)
//
// starts n loops (0: GOMAXPROCS). Each registers a duplicate of ln's
// descriptor (EPOLLEXCLUSIVE, level-triggered) and accepts on it until
// EAGAIN. An accept that fails otherwise (EMFILE, ENFILE: out of
// descriptors) would leave the listener readable and the loop spinning:
// the loop takes the listener out of its epoll set for a pause on its
// timer heap, 5 ms doubling up to 1 s while accepts keep failing (what
// net/http's Server.Serve sleeps), serving its connections meanwhile,
// then puts it back; WithLog(log) has it logged, once a second per loop
// at most. Every accepted connection gets a task that calls serve(c) and
// ends when serve returns (serve should Close c; a Conn left open when its
// loop exits is closed then). A panic escaping serve is re-raised on the
// loop's goroutine and ends the process, as one escaping a connection's
// goroutine would; dataplane/h1 recovers its handlers' own. Whichever
// loop accepts a connection, the connections go to the loops in turn (a
// sibling's is posted to it), so a busy loop, which polls the listener
// more often, does not end up with most of them.
//
//	(*Group).Close() error  // stop accepting; not from a task of the group
//	(*Group).Wait()         // until every loop and detached task has ended
//
// Close deregisters and closes the duplicate descriptor (ln itself belongs
// to its owner) and returns once no loop accepts any more; each loop exits
// when its last task has ended, so the owner ends the connections (h1's
// Shutdown or Close, which reach them through SetReadDeadline and Close).
//
// A *Conn implements net.Conn (and CloseWrite). Read, Write and Detach are
// for the connection's own task (the coroutine running serve, or the task
// that dialed it), never for a goroutine the task starts: in race-enabled
// builds a Read, Write or Dial that would park, or a Detach, from another
// goroutine fails with ErrNotTask; elsewhere it is undefined (it would
// resume the task's coroutine from that goroutine). The check is not
// always on because nothing cheap tells goroutines apart: Go gives code
// no goroutine identity (a stack trace, as the race-enabled check reads,
// costs microseconds per park; reading the runtime's g takes assembly
// tied to its private layout), a stack address does not do (stacks move
// when they grow), and a per-task token would have to come with each
// call, which net.Conn's methods cannot carry; the loop's own state
// (which task runs) is what a goroutine the task started finds too, as
// the task runs while it waits for that goroutine. LocalAddr and
// RemoteAddr (taken at accept and dial time), SetDeadline,
// SetReadDeadline, SetWriteDeadline and Close are safe from any
// goroutine: a deadline moved from elsewhere wakes a task parked on the
// connection so that it re-checks; Close is carried out by the loop
// between task runs, wakes a parked Read or Write with net.ErrClosed, and
// a second Close (or one after the loop exited and closed the
// connection) returns net.ErrClosed, as net's.
//
//	(*Conn).Detach() error
//
// moves the connection off the loop: its descriptor leaves the epoll set
// and becomes an ordinary net.Conn (net.FileConn) to which every method
// forwards from then on; the task leaves the loop and goes on, to its end,
// on a goroutine of its own. Code that needs other goroutines on the
// connection (an HTTP/2 hand-off, a WebSocket hijack, a streamed body
// copied by another goroutine) detaches first. Bytes the caller buffered
// are the caller's. After Detach the task must not use other Conns of the
// loop (an upstream connection dialed there): they need the loop.
//
//	(*Conn).ReadReady() bool
//	(*Conn).WriteRoom() int
//
// tell the connection's task whether a Read would return without parking
// (bytes or the end are in the socket, an error, the read deadline
// passed, Close), and about how many bytes a Write would take without
// parking, so that it can do something else first rather than wait.
// ReadReady makes no system call when the last edge's bytes were all
// read, a one-byte peek (recv MSG_PEEK) otherwise; WriteRoom none when
// the last edge left the socket full, else two (SO_SNDBUF, SIOCOUTQ). A
// detached connection says false and 0.
//
//	(*Conn).WatchClose(fn func(error)) (watch uint64)
//	(*Conn).StopWatch(watch uint64)
//
// arms a watch: when the loop sees the peer hang up or the connection fail
// (EPOLLRDHUP, EPOLLHUP, EPOLLERR; bytes of a pipelined request alone do
// not count), it calls fn once, on the loop's goroutine, with io.EOF or
// the socket's error; fn must not block (cancel a context, tell an
// Aborter). A hang-up the loop saw before WatchClose fires fn once the
// task yields, never from within WatchClose. StopWatch disarms (that
// watch only: a stale one leaves a newer watch armed; after fn fired it
// does nothing); both are for the connection's task. After Detach the
// watch is gone: fn never fires and StopWatch does nothing. Arming and
// stopping make no system call and allocate nothing (a caller binds fn
// once per connection).
//
//	(*Loop).Dial(addr netip.AddrPort, timeout time.Duration) (*Conn, error)
//
// connects without blocking the loop (the task parks until the connection
// completes, fails or timeout passes; 0: no timeout). It is for a task of
// that loop, and the Conn it returns is for that loop's tasks (a pool of
// upstream connections per loop).
//
//	Of(c net.Conn) (*Loop, bool)
//
// is the loop serving c when c is a *Conn not detached.
//
// Linux only; elsewhere Serve returns ErrUnsupported.
package loop
