package proxy

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptConn is a net.Conn whose reads and writes return what its script
// says, one step per call, and which records the deadlines set on it.
type scriptConn struct {
	net.Conn
	steps     []error
	deadlines int
	// external, when set, is called during the first read, as another
	// goroutine setting a deadline would.
	external func()
}

func (c *scriptConn) step(b []byte) (int, error) {
	if c.external != nil {
		f := c.external
		c.external = nil
		f()
	}
	err := c.steps[0]
	c.steps = c.steps[1:]
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *scriptConn) Read(b []byte) (int, error)       { return c.step(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return c.step(b) }
func (c *scriptConn) SetDeadline(time.Time) error      { c.deadlines++; return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { c.deadlines++; return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { c.deadlines++; return nil }
func (c *scriptConn) Close() error                     { return nil }

// TestTimeoutConn: a read or write ends with a timeout only when it has
// waited its whole timeout, or at a deadline set from outside; the
// connection's deadline is set once for many calls.
func TestTimeoutConn(t *testing.T) {
	t.Parallel()
	expired := os.ErrDeadlineExceeded
	tests := []struct {
		desc    string
		timeout time.Duration
		steps   []error
		// external sets a deadline from outside during the call.
		external      bool
		wantErr       bool
		wantDeadlines int
	}{
		{"three calls, one deadline", time.Hour, []error{nil, nil, nil}, false, false, 1},
		{"an earlier deadline expiring is moved, the call goes on", time.Hour, []error{expired, expired, nil}, false, false, 3},
		{"the whole timeout waited", time.Nanosecond, []error{expired}, false, true, 1},
		{"a deadline set from outside ends the call", time.Hour, []error{expired}, true, true, 2},
	}
	for _, tc := range tests {
		for _, op := range []string{"read", "write"} {
			t.Run(tc.desc+"/"+op, func(t *testing.T) {
				t.Parallel()
				sc := &scriptConn{steps: tc.steps}
				c := &timeoutConn{Conn: sc, read: tc.timeout, write: tc.timeout}
				if tc.external {
					sc.external = func() {
						if op == "read" {
							_ = c.SetReadDeadline(time.Now())
						} else {
							_ = c.SetWriteDeadline(time.Now())
						}
					}
				}
				var err error
				for len(sc.steps) > 0 && err == nil {
					if op == "read" {
						_, err = c.Read(make([]byte, 4))
					} else {
						_, err = c.Write(make([]byte, 4))
					}
				}
				if tc.wantErr {
					require.ErrorIs(t, err, os.ErrDeadlineExceeded)
				} else {
					require.NoError(t, err)
				}
				assert.Equal(t, tc.wantDeadlines, sc.deadlines)
			})
		}
	}
}
