//go:build linux

package loop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/loop"
	"github.com/skyport-gw/skyport/internal/freeport"
)

// start serves serve on n loops of a loopback listener; the group is
// closed and waited for when the test ends (its connections must end).
func start(t *testing.T, n int, serve func(*loop.Conn)) (string, *loop.Group) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := loop.Serve(ln, n, serve)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.Close()
		_ = ln.Close()
		g.Wait()
	})
	return ln.Addr().String(), g
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func echo(c *loop.Conn) {
	defer c.Close()
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestEchoManyConnections(t *testing.T) {
	for _, loops := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d loops", loops), func(t *testing.T) {
			addr, _ := start(t, loops, echo)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := range 64 {
				wg.Go(func() {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					for j := range 50 {
						msg := bytes.Repeat([]byte{byte('a' + (i+j)%26)}, 1+(i*j)%1500)
						if _, err := c.Write(msg); err != nil {
							errs <- err
							return
						}
						got := make([]byte, len(msg))
						if _, err := io.ReadFull(c, got); err != nil {
							errs <- err
							return
						}
						if !bytes.Equal(got, msg) {
							errs <- fmt.Errorf("conn %d message %d: echoed %q", i, j, got[:min(len(got), 16)])
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// result is what a serve function reports to its test.
type result struct {
	n   int
	b   []byte
	err error
}

func TestReads(t *testing.T) {
	tests := []struct {
		name string
		// client acts on the connection once the server read the
		// first 3 bytes of "0123456789".
		client func(c *net.TCPConn)
		want   string
		check  func(error) bool
	}{
		{"partial then EOF", func(c *net.TCPConn) { c.Write([]byte("abc")); c.CloseWrite() }, "3456789abc",
			func(err error) bool { return err == io.EOF }},
		{"reset", func(c *net.TCPConn) { c.SetLinger(0); c.Close() }, "3456789",
			func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := make(chan string, 1)
			done := make(chan result, 1)
			addr, _ := start(t, 1, func(c *loop.Conn) {
				defer c.Close()
				small := make([]byte, 3)
				n, err := c.Read(small)
				first <- string(small[:n])
				if err != nil {
					done <- result{err: err}
					return
				}
				var got []byte
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						done <- result{b: got, err: err}
						return
					}
					if len(got) == 7 && tt.name == "reset" {
						first <- ""
					}
				}
			})
			c := dial(t, addr)
			if _, err := c.Write([]byte("0123456789")); err != nil {
				t.Fatal(err)
			}
			if got := <-first; got != "012" {
				t.Fatalf("first read %q, want 012", got)
			}
			if tt.name == "reset" {
				<-first
			}
			tt.client(c)
			r := <-done
			if string(r.b) != tt.want || !tt.check(r.err) {
				t.Errorf("read %q, %v; want %q and the expected error", r.b, r.err, tt.want)
			}
		})
	}
}

// Bytes and the FIN that came in one edge: the read after the bytes
// finds EOF without another edge.
func TestBytesThenEOFInOneEdge(t *testing.T) {
	sent := make(chan struct{})
	done := make(chan result, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		// Blocking the loop here lets the client's bytes and FIN
		// arrive before the loop looks at the connection at all.
		<-sent
		buf := make([]byte, 64)
		var got []byte
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				done <- result{b: got, err: err}
				return
			}
		}
	})
	c := dial(t, addr)
	c.Write([]byte("abc"))
	c.CloseWrite()
	close(sent)
	if r := <-done; string(r.b) != "abc" || r.err != io.EOF {
		t.Errorf("read %q, %v; want abc and io.EOF", r.b, r.err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestDeadlines(t *testing.T) {
	tests := []struct {
		name string
		// serve runs on the server's connection; it returns the error
		// of the operation the deadline ends.
		serve func(c *loop.Conn) error
	}{
		{"read, by the timer", func(c *loop.Conn) error {
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			_, err := c.Read(make([]byte, 8))
			return err
		}},
		{"read, moved earlier by another goroutine while parked", func(c *loop.Conn) error {
			c.SetReadDeadline(time.Now().Add(time.Hour))
			go func() { c.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) }()
			_, err := c.Read(make([]byte, 8))
			return err
		}},
		{"read, set in the past by another goroutine", func(c *loop.Conn) error {
			go c.SetReadDeadline(time.Unix(1, 0))
			_, err := c.Read(make([]byte, 8))
			return err
		}},
		{"write, by the timer against a reader that does not read", func(c *loop.Conn) error {
			c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
			big := make([]byte, 1<<20)
			for {
				if _, err := c.Write(big); err != nil {
					return err
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			addr, _ := start(t, 1, func(c *loop.Conn) {
				defer c.Close()
				done <- tt.serve(c)
			})
			c := dial(t, addr)
			if err := <-done; !isTimeout(err) {
				t.Errorf("got %v, want a timeout (os.ErrDeadlineExceeded)", err)
			}
			c.Close()
		})
	}
}

// A read deadline cleared after it expired lets the next read wait for
// bytes again.
func TestDeadlineCleared(t *testing.T) {
	done := make(chan result, 1)
	expired := make(chan struct{})
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		buf := make([]byte, 8)
		if _, err := c.Read(buf); !isTimeout(err) {
			done <- result{err: fmt.Errorf("first read: %w, want a timeout", err)}
			return
		}
		c.SetReadDeadline(time.Time{})
		close(expired)
		n, err := c.Read(buf)
		done <- result{b: buf[:n], err: err}
	})
	c := dial(t, addr)
	select {
	case <-expired:
	case r := <-done:
		t.Fatal(r.err)
	}
	c.Write([]byte("late"))
	if r := <-done; r.err != nil || string(r.b) != "late" {
		t.Errorf("read %q, %v; want late", r.b, r.err)
	}
}

func TestCloseFromAnotherGoroutine(t *testing.T) {
	for _, write := range []bool{false, true} {
		t.Run(fmt.Sprintf("write %t", write), func(t *testing.T) {
			done := make(chan error, 1)
			var server *loop.Conn
			got := make(chan struct{})
			addr, _ := start(t, 1, func(c *loop.Conn) {
				server = c
				close(got)
				var err error
				if write {
					big := make([]byte, 1<<20)
					for err == nil {
						_, err = c.Write(big)
					}
				} else {
					_, err = c.Read(make([]byte, 8))
				}
				done <- err
			})
			c := dial(t, addr)
			<-got
			if err := server.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !errors.Is(err, net.ErrClosed) {
				t.Errorf("parked op: %v, want net.ErrClosed", err)
			}
			if err := server.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close: %v, want net.ErrClosed", err)
			}
			// The client sees the close.
			c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("client: %v", err)
			}
		})
	}
}

// A write far larger than the socket buffers goes out whole as a slow
// reader takes it.
func TestWriteBackpressure(t *testing.T) {
	const size = 32 << 20
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	done := make(chan result, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		n, err := c.Write(payload)
		done <- result{n: n, err: err}
	})
	c := dial(t, addr)
	got := make([]byte, 0, size)
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if r := <-done; r.err != nil || r.n != size {
		t.Fatalf("write: %d, %v", r.n, r.err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("received %d bytes, not the payload", len(got))
	}
}

func TestDial(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	refusing, release, err := freeport.Refusing()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	full := fullBacklog(t)

	tests := []struct {
		name    string
		addr    netip.AddrPort
		timeout time.Duration
		check   func(c *loop.Conn, err error) error
	}{
		{"connects and exchanges", netip.MustParseAddrPort(up.Addr().String()), time.Minute, func(c *loop.Conn, err error) error {
			if err != nil {
				return err
			}
			defer c.Close()
			if l, ok := loop.Of(c); !ok || l == nil {
				return errors.New("Of: not a loop's conn")
			}
			if _, err := c.Write([]byte("ping")); err != nil {
				return err
			}
			b := make([]byte, 4)
			if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
				return fmt.Errorf("read %q, %w", b, err)
			}
			if c.RemoteAddr().String() != up.Addr().String() {
				return fmt.Errorf("RemoteAddr %v", c.RemoteAddr())
			}
			return nil
		}},
		{"refused", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(refusing)), time.Minute, func(c *loop.Conn, err error) error {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("got %w, want ECONNREFUSED", err)
			}
			return nil
		}},
		{"times out on a full backlog", full, 20 * time.Millisecond, func(c *loop.Conn, err error) error {
			if !isTimeout(err) {
				return fmt.Errorf("got %v, %w; want a timeout", c, err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			addr, _ := start(t, 1, func(c *loop.Conn) {
				defer c.Close()
				l, ok := loop.Of(c)
				if !ok {
					done <- errors.New("Of: not a loop's conn")
					return
				}
				done <- tt.check(l.Dial(tt.addr, tt.timeout))
			})
			dial(t, addr)
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
}

// fullBacklog is a listener of backlog 0, never accepted, whose queue
// one connection fills: the kernel drops the next one's SYN.
func fullBacklog(t *testing.T) netip.AddrPort {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sa.(*unix.SockaddrInet4).Port))
	c, err := net.Dial("tcp", ap.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ap
}

func TestWatchClose(t *testing.T) {
	fired := make(chan error, 2)
	done := make(chan error, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		buf := make([]byte, 16)
		if _, err := c.Read(buf); err != nil {
			done <- err
			return
		}
		watch := c.WatchClose(func(err error) { fired <- err })
		defer c.StopWatch(watch)
		if _, err := c.Write([]byte("ok")); err != nil {
			done <- err
			return
		}
		// The pipelined bytes' edge came through the loop before this
		// read returns them.
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "two" {
			done <- fmt.Errorf("second read %q, %w", buf[:n], err)
			return
		}
		select {
		case err := <-fired:
			done <- fmt.Errorf("the watch fired on pipelined bytes: %w", err)
			return
		default:
		}
		done <- nil
		_, err := c.Read(buf)
		done <- err
	})
	c := dial(t, addr)
	c.Write([]byte("one"))
	if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("two"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-fired; err != io.EOF {
		t.Errorf("watch: %v, want io.EOF", err)
	}
	if err := <-done; err != io.EOF {
		t.Errorf("read after the client closed: %v", err)
	}
}

func TestDetach(t *testing.T) {
	done := make(chan error, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "before" {
			done <- fmt.Errorf("read %q, %w", buf[:n], err)
			return
		}
		c.SetReadDeadline(time.Now().Add(time.Minute))
		if err := c.Detach(); err != nil {
			done <- err
			return
		}
		if _, ok := loop.Of(c); ok {
			done <- errors.New("Of: still on the loop after Detach")
			return
		}
		// Another goroutine may use it now.
		werr := make(chan error, 1)
		go func() { _, err := c.Write([]byte("after")); werr <- err }()
		if err := <-werr; err != nil {
			done <- err
			return
		}
		n, err = c.Read(buf)
		if err != nil || string(buf[:n]) != "more" {
			done <- fmt.Errorf("read after Detach %q, %w", buf[:n], err)
			return
		}
		done <- nil
	})
	c := dial(t, addr)
	c.Write([]byte("before"))
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "after" {
		t.Fatalf("read %q, %v", b, err)
	}
	c.Write([]byte("more"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(b); err != io.EOF {
		t.Errorf("after the detached task ended: %v, want EOF", err)
	}
}

// dataplane/h1 serves on the loops through ServeConn; Group.Close stops
// accepting and Shutdown ends the idle connections, after which the
// loops exit.
func TestH1ShutdownIdle(t *testing.T) {
	srv := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		w.Write([]byte("hello"))
	})}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g, err := loop.Serve(ln, 2, func(c *loop.Conn) { srv.ServeConn(c) })
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
		if resp.StatusCode != 200 || string(body) != "hello" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		conns = append(conns, c)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.Wait()
	for _, c := range conns {
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("an idle connection stayed open: %d, %v", n, err)
		}
	}
}

// A watch armed after the peer hung up fires once the task yields, not
// from within WatchClose; a stale stop does not disarm a newer watch.
func TestWatchCloseAfterHangUp(t *testing.T) {
	fired := make(chan error, 2)
	done := make(chan error, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		buf := make([]byte, 16)
		for {
			// Read to EOF: the hang-up's edge has been seen.
			if _, err := c.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				done <- err
				return
			}
		}
		old := c.WatchClose(func(err error) { fired <- fmt.Errorf("the disarmed watch fired: %w", err) })
		c.StopWatch(old)
		inWatch := true
		c.WatchClose(func(err error) {
			if inWatch {
				err = errors.New("fired from within WatchClose")
			}
			fired <- err
		})
		c.StopWatch(old) // stale: must not disarm the newer watch
		inWatch = false
		// The task ends here: the loop fires the watch after it.
		done <- nil
	})
	c := dial(t, addr)
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-fired; err != io.EOF {
		t.Errorf("watch: %v, want io.EOF", err)
	}
}

// A dialed connection the loop closed when it exited (a pool's) is
// closed again, and looked at, from another goroutine that did not wait
// for the loop: no data race with the loop's close, net.ErrClosed, and
// its addresses as they were.
func TestCloseAfterLoopExit(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	peers := make(chan string, 1)
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().String()
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	upAddr := netip.MustParseAddrPort(up.Addr().String())
	kept := make(chan *loop.Conn, 1)
	dialErr := make(chan error, 1)
	addr, g := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		l, _ := loop.Of(c)
		uc, err := l.Dial(upAddr, time.Minute)
		dialErr <- err
		if err == nil {
			kept <- uc // left open: the loop closes it when it exits
		}
	})
	cc := dial(t, addr)
	if err := <-dialErr; err != nil {
		t.Fatal(err)
	}
	uc := <-kept
	local := <-peers
	cc.Close()
	_ = g.Close()
	// No g.Wait: the loop's exit is unordered with what follows but for
	// the closed state, which SetReadDeadline looks at.
	for uc.SetReadDeadline(time.Time{}) == nil {
		runtime.Gosched()
	}
	if err := uc.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close after the loop exited: %v, want net.ErrClosed", err)
	}
	if got := uc.LocalAddr().String(); got != local {
		t.Errorf("LocalAddr after the loop exited: %s, want %s", got, local)
	}
	if got := uc.RemoteAddr().String(); got != upAddr.String() {
		t.Errorf("RemoteAddr after the loop exited: %s, want %s", got, upAddr)
	}
	g.Wait()
}

// openFDs lists the targets of the process's open descriptors (a
// socket, an anon_inode:[eventpoll], a file's path).
func openFDs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range entries {
		// The directory's own descriptor is gone by now: no target.
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			targets = append(targets, target)
		}
	}
	return targets
}

// rounds is how many rounds g's loops went, all told.
func rounds(g *loop.Group) uint64 {
	var n uint64
	for _, l := range g.Loops() {
		n += l.Rounds()
	}
	return n
}

// idleRounds bounds the rounds n loops may go in d while they serve one
// connection of TestLoopsWaitAndExit whose task waits for a deadline or
// a Close. A loop goes a round for an event (the accept, the
// connection's first edges, the Close posted), for the deadline, and,
// with nothing to run, each time its park runs out: parks start at
// ParkCapMin and double up to ParkCapMax, and start over after a wake
// that brought events (wait_linux.go); a few such ladders per loop, then
// one round per ParkCapMax. A slower machine only makes d, and the bound,
// greater. A loop that polled instead of waiting would go thousands of
// rounds while the deadline comes.
func idleRounds(n int, d time.Duration) uint64 {
	ladder := bits.Len64(uint64(loop.ParkCapMax / loop.ParkCapMin))
	return uint64(n) * uint64(3*(ladder+1)+int(d/loop.ParkCapMax)+1)
}

// TestLoopsWaitAndExit: loops with nothing to run wait (on Go's
// netpoller) instead of polling, whether for a deadline or for nothing,
// and are woken by a connection, by a deadline and by a Close from
// another goroutine; a closed group's loop goes on serving its task and
// exits once that task ends, leaving no descriptor of its own open (its
// epoll instance, its eventfd, the duplicate of the epoll descriptor the
// netpoller watches, the listener's duplicate, the connection).
func TestLoopsWaitAndExit(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// After the listener: the netpoller's own descriptors are open by
	// now. Earlier tests' descriptors may still be closing, so only a
	// rise counts.
	before := openFDs(t)
	type served struct {
		c   *loop.Conn
		err error
	}
	timedOut := make(chan served, 1)
	ended := make(chan error, 1)
	g, err := loop.Serve(ln, 3, func(c *loop.Conn) {
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		timedOut <- served{c, err}
		_ = c.SetReadDeadline(time.Time{})
		// Echo until the Conn is closed from another goroutine.
		b := make([]byte, 1)
		for {
			if _, err := c.Read(b); err != nil {
				ended <- err
				return
			}
			if _, err := c.Write(b); err != nil {
				ended <- err
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		g.Wait()
		close(exited)
	}()
	defer func() {
		// A failure before the group is closed: end what is left.
		_ = g.Close()
		<-exited
	}()
	start, began := rounds(g), time.Now()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	var sc *loop.Conn
	select {
	case s := <-timedOut:
		if !errors.Is(s.err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past its deadline: %v, want os.ErrDeadlineExceeded", s.err)
		}
		sc = s.c
	case <-time.After(time.Minute):
		t.Fatal("a waiting loop did not wake for its deadline")
	}
	// The connection's loop went a round for the accept and one for the
	// deadline at least: the count counts.
	n, most := rounds(g)-start, idleRounds(len(g.Loops()), time.Since(began))
	t.Logf("%d rounds while a task waited for its deadline, %d at most", n, most)
	if n < 2 || n > most {
		t.Errorf("the loops went %d rounds while a task waited for its deadline, want 2 to %d", n, most)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	// The group is closed; the connection's task still runs on its
	// loop, which echoes.
	if err := cc.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(cc, b); err != nil || b[0] != 'x' {
		t.Fatalf("echo after the group closed: %q, %v", b, err)
	}
	// The task is alive (waiting for its next byte): its loop has not
	// exited.
	select {
	case <-exited:
		t.Fatal("the loops exited while a task still ran")
	default:
	}
	mid, began := rounds(g), time.Now()
	// A Close from another goroutine wakes the task's Read.
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read of a Conn closed meanwhile: %v, want net.ErrClosed", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a Close from another goroutine did not wake the task")
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("the loops did not exit after the group closed and the last task ended")
	}
	n, most = rounds(g)-mid, idleRounds(len(g.Loops()), time.Since(began))
	t.Logf("%d rounds for a Close and the exit, %d at most", n, most)
	if n > most {
		t.Errorf("the loops went %d rounds for a Close and their exit, want at most %d", n, most)
	}
	cc.Close()
	if after := openFDs(t); len(after) > len(before) {
		t.Errorf("%d descriptors open after the loops exited, %d before:\nafter:  %v\nbefore: %v",
			len(after), len(before), after, before)
	}
}

// TestOnExit: a function given to OnExit is called once, when the loop
// exits (before Wait returns), and not once canceled; OnExit on a loop
// that exited reports false.
func TestOnExit(t *testing.T) {
	t.Parallel()
	var calls, canceledCalls int
	loops := make(chan *loop.Loop, 1)
	addr, g := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		l, _ := loop.Of(c)
		if _, ok := l.OnExit(func() { calls++ }); !ok {
			t.Error("OnExit on a running loop reported false")
		}
		cancel, ok := l.OnExit(func() { canceledCalls++ })
		if !ok {
			t.Error("OnExit on a running loop reported false")
		} else {
			cancel()
		}
		loops <- l
	})
	cc := dial(t, addr)
	l := <-loops
	cc.Close()
	_ = g.Close()
	g.Wait()
	// Wait orders the loop's exit, and so the calls, before these reads.
	if calls != 1 || canceledCalls != 0 {
		t.Errorf("OnExit's function called %d times, the canceled one %d; want 1 and 0", calls, canceledCalls)
	}
	if _, ok := l.OnExit(func() { t.Error("a function given after the exit was called") }); ok {
		t.Error("OnExit after the loop exited reported true")
	}
}

// TestAcceptSpreads: accepted connections go to the loops in turn,
// whichever loop's accept took them.
func TestAcceptSpreads(t *testing.T) {
	t.Parallel()
	const loops, perLoop = 3, 4
	served := make(chan *loop.Loop, loops*perLoop)
	addr, _ := start(t, loops, func(c *loop.Conn) {
		defer c.Close()
		l, _ := loop.Of(c)
		served <- l
		_, _ = c.Read(make([]byte, 1)) // until the client closes
	})
	for range loops * perLoop {
		dial(t, addr)
	}
	count := map[*loop.Loop]int{}
	for range loops * perLoop {
		select {
		case l := <-served:
			count[l]++
		case <-time.After(time.Minute):
			t.Fatalf("served %d of %d connections", len(count), loops*perLoop)
		}
	}
	if len(count) != loops {
		t.Fatalf("connections went to %d loops of %d: %v", len(count), loops, count)
	}
	for l, n := range count {
		if n != perLoop {
			t.Errorf("loop %p serves %d connections, want %d", l, n, perLoop)
		}
	}
}

// TestReadReadyAndWriteRoom: ReadReady says whether a Read would park,
// also after a read that filled its buffer and emptied the socket (the
// peek); writes of what WriteRoom allows never park, and it reaches 0
// while the client reads nothing (what was written is left unread: a
// tiny receive buffer drains slowly).
func TestReadReadyAndWriteRoom(t *testing.T) {
	type report struct {
		ready   []bool
		written int
		err     error
	}
	drained, sent := make(chan struct{}), make(chan struct{})
	done := make(chan report, 1)
	addr, _ := start(t, 1, func(c *loop.Conn) {
		defer c.Close()
		var r report
		buf := make([]byte, 64)
		if _, err := io.ReadFull(c, buf[:3]); err != nil {
			done <- report{err: err}
			return
		}
		r.ready = append(r.ready, c.ReadReady()) // 7 bytes left
		if _, err := io.ReadFull(c, buf[:7]); err != nil {
			done <- report{err: err}
			return
		}
		r.ready = append(r.ready, c.ReadReady()) // all read
		// A Read past its deadline returns at once; one before it waits.
		_ = c.SetReadDeadline(time.Now().Add(-time.Second))
		r.ready = append(r.ready, c.ReadReady())
		_ = c.SetReadDeadline(time.Now().Add(time.Hour))
		r.ready = append(r.ready, c.ReadReady())
		_ = c.SetReadDeadline(time.Time{})
		close(drained)
		<-sent
		// "abcd" came: the client waited for its write.
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			done <- report{err: err}
			return
		}
		r.ready = append(r.ready, c.ReadReady()) // a full read emptied the socket
		for r.written < 64<<20 {
			room := c.WriteRoom()
			if room == 0 {
				break
			}
			n, err := c.Write(make([]byte, room))
			r.written += n
			if err != nil {
				r.err = err
				break
			}
		}
		done <- r
	})
	c := dial(t, addr)
	if err := c.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-drained:
	case <-time.After(time.Minute):
		t.Fatal("the task did not read the first bytes")
	}
	if _, err := c.Write([]byte("abcd")); err != nil {
		t.Fatal(err)
	}
	close(sent)
	var r report
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("a write WriteRoom allowed parked")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := []bool{true, false, true, false, false}; fmt.Sprint(r.ready) != fmt.Sprint(want) {
		t.Errorf("ReadReady said %v, want %v", r.ready, want)
	}
	if r.written == 0 || r.written >= 64<<20 {
		t.Errorf("wrote %d bytes before WriteRoom said 0", r.written)
	}
}
