package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
	"github.com/skyport-gw/skyport/internal/protocol"
)

// Limits of the control plane connection.
const (
	dialTimeout  = 30 * time.Second
	writeTimeout = 10 * time.Second
	// readLimit is far above any notice and API Gateway's 32 KB frames.
	readLimit = 64 << 10
	// stableAfter is how long a connection must last for the next failure
	// to start the backoff over.
	stableAfter = time.Minute
)

// runCP keeps a connection to the control plane until ctx is done,
// reconnecting with jittered exponential backoff.
func (c *Client) runCP(ctx context.Context) {
	attempt := 0
	first := true
	for ctx.Err() == nil {
		c.state.setCP(cpConnecting)
		end := c.session(ctx)
		c.state.setCP(cpDisconnected)
		if (end.connected && !end.prompt) || first {
			c.signalDown()
		}
		first = false
		if ctx.Err() != nil {
			return
		}
		if end.err != nil {
			c.state.setError(end.err)
		}
		var wait time.Duration
		switch {
		case end.prompt:
			attempt = 0
			wait = c.cfg.Backoff.Delay(0, nil)
		default:
			if end.connected && end.lasted >= stableAfter {
				attempt = 0
			}
			wait = c.cfg.Backoff.Delay(attempt, nil)
			attempt++
		}
		c.log.Debug("reconnecting to the control plane", "in", wait)
		if !sleep(ctx, wait) {
			return
		}
	}
}

// sessionEnd is how a connection ended.
type sessionEnd struct {
	// connected is whether the connection was established.
	connected bool
	// lasted is how long it was up.
	lasted time.Duration
	// prompt asks for a reconnect without backoff: a planned reconnect or
	// a normal close by the server.
	prompt bool
	// err is why it ended, nil for a planned reconnect or shutdown.
	err error
}

// session dials the control plane, says hello, then reads notices and
// sends heartbeats until the connection ends, its planned reconnect comes
// or ctx is done.
func (c *Client) session(ctx context.Context) sessionEnd {
	conn, err := c.dial(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("control plane unreachable", "error", err)
		}
		return sessionEnd{err: err}
	}
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)
	start := time.Now()
	c.conn.Store(conn)
	defer c.conn.Store(nil)

	if err := c.write(ctx, conn, c.hello()); err != nil {
		return sessionEnd{connected: true, err: fmt.Errorf("sending hello: %w", err)}
	}
	c.state.setCP(cpConnected)
	c.log.Info("connected to the control plane", "node_id", c.cfg.NodeID)

	reads := make(chan error, 1)
	go func() { reads <- c.readNotices(ctx, conn) }()
	end := c.keepAlive(ctx, conn, start, reads)
	end.connected, end.lasted = true, time.Since(start)
	return end
}

// keepAlive sends heartbeats on the connection's schedule until the
// reader ends, the planned reconnect comes or ctx is done; it returns once
// the reader has stopped.
func (c *Client) keepAlive(ctx context.Context, conn *websocket.Conn, start time.Time, reads <-chan error) sessionEnd {
	sched := backoff.NewSession(start, c.cfg.Heartbeat, c.cfg.Lifetime, nil)
	for {
		now := time.Now()
		at, reconnect := sched.Next(now)
		report := false
		if due, ok := c.reportDue(now); ok && due.Before(at) {
			at, reconnect, report = due, false, true
		}
		timer := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			timer.Stop()
			_ = conn.Close(websocket.StatusGoingAway, "shutting down")
			<-reads //nolint:errcheck // waits for the reader to stop; its error is the close we caused
			return sessionEnd{}
		case err := <-reads:
			timer.Stop()
			return c.classify(err)
		case <-c.reports:
			// An apply: its status is sent by the applier; the reports
			// after it start now.
			timer.Stop()
			continue
		case <-timer.C:
		}
		if reconnect {
			c.log.Info("planned reconnect to the control plane")
			_ = conn.Close(websocket.StatusNormalClosure, "planned reconnect")
			<-reads //nolint:errcheck // waits for the reader to stop; its error is the close we caused
			return sessionEnd{prompt: true}
		}
		msg := c.statusMessage()
		if report && c.sameAsSent(msg) {
			// Nothing new since the last status (no traffic, say): a
			// fleet of idle data planes sends no reports.
			continue
		}
		if err := c.writeStatus(ctx, conn, msg); err != nil {
			_ = conn.CloseNow()
			<-reads //nolint:errcheck // waits for the reader to stop; its error is the close we caused
			return sessionEnd{err: fmt.Errorf("sending heartbeat: %w", err)}
		}
	}
}

// classify turns the error that ended reading into how to reconnect.
func (c *Client) classify(err error) sessionEnd {
	code := websocket.CloseStatus(err)
	switch {
	case code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway:
		c.log.Info("control plane closed the connection", "code", int(code))
		return sessionEnd{prompt: true}
	case code == websocket.StatusMessageTooBig || errors.Is(err, websocket.ErrMessageTooBig):
		c.log.Warn("control plane connection closed: message too big", "error", err)
		return sessionEnd{prompt: true, err: err}
	case code == websocket.StatusPolicyViolation || (code >= 4000 && code < 5000):
		c.log.Warn("control plane refused the connection", "code", int(code), "error", err)
		return sessionEnd{err: fmt.Errorf("control plane refused the connection: %w", err)}
	default:
		c.log.Warn("control plane connection lost", "error", err)
		return sessionEnd{err: fmt.Errorf("control plane connection lost: %w", err)}
	}
}

// dial opens the WebSocket with the configured credentials.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	opts := &websocket.DialOptions{HTTPClient: c.cfg.HTTPClient}
	if c.cfg.Auth != nil {
		h, err := c.cfg.Auth.Header(ctx, c.cfg.CPURL)
		if err != nil {
			return nil, err
		}
		opts.HTTPHeader = h
	}
	conn, resp, err := websocket.Dial(ctx, c.cfg.CPURL, opts) //nolint:bodyclose // the websocket library owns the handshake response's body
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connecting to the control plane: status %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("connecting to the control plane: %w", err)
	}
	return conn, nil
}

// readNotices reads frames until the connection fails, queueing config
// notices; it returns the error that ended it.
func (c *Client) readNotices(ctx context.Context, conn *websocket.Conn) error {
	for {
		_, raw, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		var n protocol.ConfigNotice
		if err := json.Unmarshal(raw, &n); err != nil || n.Type != protocol.TypeConfig {
			c.log.Debug("control plane message ignored", "bytes", len(raw))
			continue
		}
		c.log.Debug("config notice", "revision", n.Revision)
		c.submit(noticeJob(n))
	}
}

// hello is the first message on a connection.
func (c *Client) hello() protocol.Hello {
	rev, hash := c.current()
	id := c.ident.running(rev)
	return protocol.Hello{
		ClusterID:  id.ClusterID,
		Epoch:      id.Epoch,
		Action:     protocol.ActionHello,
		NodeID:     c.cfg.NodeID,
		Hostname:   c.cfg.Hostname,
		Version:    c.cfg.Version,
		Labels:     c.cfg.Labels,
		Revision:   rev,
		ConfigHash: hash,
		Plugins:    c.cfg.Plugins,
	}
}

// sendStatus sends the current status on the live connection, if any.
func (c *Client) sendStatus(ctx context.Context) {
	conn := c.conn.Load()
	if conn == nil {
		return
	}
	if err := c.writeStatus(ctx, conn, c.statusMessage()); err != nil {
		c.log.Warn("status not sent", "error", err)
	}
}

// writeStatus sends status st and remembers it as the last one sent.
func (c *Client) writeStatus(ctx context.Context, conn *websocket.Conn, st protocol.Status) error {
	if err := c.write(ctx, conn, st); err != nil {
		return err
	}
	c.lastStatus.Store(&st)
	return nil
}

// sameAsSent reports whether st says what the last status sent said.
func (c *Client) sameAsSent(st protocol.Status) bool {
	last := c.lastStatus.Load()
	return last != nil && reflect.DeepEqual(*last, st)
}

// write sends v as one JSON text frame.
func (c *Client) write(ctx context.Context, conn *websocket.Conn, v any) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return wsjson.Write(ctx, conn, v)
}

// signalDown wakes the fallback poller.
func (c *Client) signalDown() {
	select {
	case c.down <- struct{}{}:
	default:
	}
}

// connected reports whether the control plane connection is up.
func (c *Client) connected() bool { return c.conn.Load() != nil }
