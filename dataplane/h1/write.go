package h1

import (
	"net"
	"time"
)

// outBufSize is the write buffer: a response whose head and body fit is
// sent in one write.
const outBufSize = 4 << 10

// outBuf returns the write buffer, taking one from the pool when the
// connection was idle.
func (c *conn) outBuf() []byte {
	if c.out == nil {
		c.outp = c.s.getOut()
		c.out = (*c.outp)[:0]
	}
	return c.out
}

// releaseOut returns the write buffer to the pool while the connection
// waits for its next request (the box keeps the pooled array when the
// buffer grew past it).
func (c *conn) releaseOut() {
	if c.outp != nil {
		c.s.outPool.Put(c.outp)
	}
	c.out, c.outp = nil, nil
}

// flush writes the buffered bytes.
func (c *conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.out) == 0 {
		return nil
	}
	c.writeDeadline()
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	if err != nil {
		c.werr, c.closeAfter = err, true
	}
	return err
}

// writeThrough writes the buffered bytes and p in one writev on TCP, so
// a large body is not copied into the buffer.
func (c *conn) writeThrough(p []byte) (int, error) {
	if c.werr != nil {
		return 0, c.werr
	}
	c.writeDeadline()
	var err error
	if tc, ok := c.nc.(*net.TCPConn); ok && len(c.out) > 0 {
		c.iov = append(c.iov[:0], c.out, p)
		_, err = c.iov.WriteTo(tc)
		c.iov = c.iov[:0]
	} else {
		if len(c.out) > 0 {
			_, err = c.nc.Write(c.out)
		}
		if err == nil {
			_, err = c.nc.Write(p)
		}
	}
	c.out = c.outBuf()[:0]
	if err != nil {
		c.werr, c.closeAfter = err, true
		return 0, err
	}
	return len(p), nil
}

// readDeadline sets the read deadline d from now. Deadlines are coarse:
// one within a sixteenth of d (at most a second) of the one already set
// is left as it is, so a busy keep-alive connection does not reset its
// timer on every request.
func (c *conn) readDeadline(d time.Duration) {
	want := monoNow().Add(d)
	if !c.nudged.Swap(false) && !c.rdl.IsZero() && !c.rdl.After(want) && want.Sub(c.rdl) < slack(d) {
		return
	}
	c.rdl = want
	_ = c.nc.SetReadDeadline(want)
}

// writeDeadline applies SendTimeout, coarse as readDeadline.
func (c *conn) writeDeadline() {
	d := c.s.lim.SendTimeout
	if d <= 0 {
		return
	}
	want := monoNow().Add(d)
	if !c.wdl.IsZero() && !c.wdl.After(want) && want.Sub(c.wdl) < slack(d) {
		return
	}
	c.wdl = want
	_ = c.nc.SetWriteDeadline(want)
}

func slack(d time.Duration) time.Duration { return min(d/16, time.Second) }

// epoch is monoNow's origin.
var epoch = time.Now()

// monoNow is the current time for a deadline, read from the monotonic
// clock alone: epoch's wall reading moved by the monotonic time since.
// time.Now reads both clocks (twice the cost, on every request of a
// kept-alive connection); a deadline is measured by its monotonic
// reading (net.Conn's, through time.Until, and dataplane/loop's).
func monoNow() time.Time { return epoch.Add(time.Since(epoch)) }
