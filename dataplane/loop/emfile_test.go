//go:build linux

package loop_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skyport-gw/skyport/dataplane/loop"
)

// emfileEnv makes the test binary the process TestAcceptEMFILE runs out
// of descriptors (emfileChild) instead of running the tests.
const emfileEnv = "SKYPORT_LOOP_EMFILE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(emfileEnv) == "1" {
		os.Exit(emfileChild())
	}
	os.Exit(m.Run())
}

// lineHandler writes each record's message and attributes as a line.
type lineHandler struct{ w io.Writer }

func (h lineHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("log " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	_, err := fmt.Fprintln(h.w, b.String())
	return err
}
func (h lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h lineHandler) WithGroup(string) slog.Handler      { return h }

// emfileChild serves echo on a loop, prints its address, lowers
// RLIMIT_NOFILE and uses up the descriptors left, says "full", then
// frees one when its standard input says "free", and exits at its end.
// Its loop's log goes to standard output.
func emfileChild() int {
	out := os.Stdout
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	g, err := loop.Serve(ln, 1, echo, loop.WithLog(slog.New(lineHandler{out})))
	if err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	defer g.Close()
	fmt.Fprintln(out, "addr", ln.Addr())
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	lim.Cur = min(lim.Cur, 256)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	var held []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil {
			fmt.Fprintln(out, "error", err)
			return 1
		}
		held = append(held, fd)
	}
	fmt.Fprintln(out, "full")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "free" && len(held) > 0 {
			unix.Close(held[len(held)-1])
			held = held[:len(held)-1]
		}
	}
	return 0
}

// TestAcceptEMFILE: a process out of descriptors (RLIMIT_NOFILE) cannot
// accept a connection; its loop logs the failure and pauses the
// listener, and once a descriptor frees it accepts the connection that
// waited and serves it.
func TestAcceptEMFILE(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), emfileEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("the child: %v", err)
		}
	})
	// next returns the child's next line that starts with prefix.
	next := func(prefix string) string {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the child ended before saying %q", prefix)
				}
				if strings.HasPrefix(l, "error") {
					t.Fatalf("the child: %s", l)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-timeout:
				t.Fatalf("the child did not say %q", prefix)
			}
		}
	}
	addr := strings.TrimPrefix(next("addr "), "addr ")
	next("full")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := next("log ")
	if !strings.Contains(l, "too many open files") || !strings.Contains(l, "pause=") {
		t.Errorf("logged %q, want the accept's EMFILE and the pause", l)
	}
	if _, err := io.WriteString(stdin, "free\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("echo after a descriptor freed: %q, %v", got, err)
	}
}
