package hub

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// ErrUnauthorized is returned by an Authorizer to refuse an upgrade with
// 401 rather than 403.
var ErrUnauthorized = errors.New("unauthorized")

const (
	closeGoingAway  = websocket.StatusGoingAway
	closeTooBig     = websocket.StatusMessageTooBig
	sendTimeout     = 10 * time.Second
	routeTimeout    = 30 * time.Second
	closedAbnormal  = websocket.StatusAbnormalClosure
	disconnectGrace = 10 * time.Second
)

// conn is one accepted WebSocket connection.
type conn struct {
	id          string
	ws          *websocket.Conn
	sourceIP    string
	userAgent   string
	connectedAt time.Time
	lastActive  atomic.Int64 // unix nanoseconds
	// ready is closed once ws is set, or left nil because the upgrade
	// failed; the connection is registered before it is accepted, so a
	// client that saw its upgrade succeed can be posted to at once.
	ready chan struct{}

	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string
}

func (c *conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

func (c *conn) lastActiveAt() time.Time { return time.Unix(0, c.lastActive.Load()) }

// send writes one text message to the client.
func (c *conn) send(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	c.touch()
	return nil
}

// accepted waits until the upgrade finished and reports whether it
// succeeded.
func (c *conn) accepted(ctx context.Context) bool {
	select {
	case <-c.ready:
		return c.ws != nil
	case <-ctx.Done():
		return false
	}
}

// stop closes the connection from the server's side with code; the first
// reason given wins.
func (c *conn) stop(code websocket.StatusCode, reason string) {
	if !c.accepted(context.Background()) {
		return
	}
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		_ = c.ws.Close(code, reason)
	})
}

// serveWebSocket runs $connect and, when it allows, the connection's
// whole life: frames, limits, and $disconnect.
func (h *Hub) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") == "" {
		writeError(w, http.StatusUpgradeRequired, "BadRequestException", "WebSocket upgrade required")
		return
	}
	if h.accepts != nil && !h.accepts.allow(h.now()) {
		writeError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
		return
	}
	if !h.begin() {
		writeError(w, http.StatusServiceUnavailable, "", "Service Unavailable")
		return
	}
	defer h.end()
	ctx := r.Context()
	c := &conn{id: newConnectionID(), sourceIP: sourceIP(r), userAgent: r.UserAgent(), connectedAt: time.Now(), ready: make(chan struct{})}
	c.touch()
	subprotocols, ok := h.admit(ctx, w, c, h.connectEvent(c, r))
	if !ok {
		return
	}
	if !h.register(c) {
		writeError(w, http.StatusServiceUnavailable, "", "Service Unavailable")
		return
	}
	watch := &frameWatcher{limit: FrameLimit}
	ws, err := websocket.Accept(watchingWriter{ResponseWriter: w, watch: watch}, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // API Gateway does not check Origin
		Subprotocols:       subprotocols,
	})
	if err != nil {
		close(c.ready)
		h.unregister(c)
		h.log.Info("websocket upgrade failed", "err", err)
		return
	}
	ws.SetReadLimit(MessageLimit)
	c.ws = ws
	close(c.ready)
	h.log.Info("websocket connected", "connection_id", c.id, "source_ip", c.sourceIP)
	h.run(ctx, c, watch)
	h.unregister(c)
	h.disconnect(ctx, c)
}

// admit runs the authorizer and the $connect route; when either refuses,
// it answers the upgrade request and returns false. The subprotocol the
// $connect route chose, if any, is returned for the upgrade.
func (h *Hub) admit(ctx context.Context, w http.ResponseWriter, c *conn, req events.APIGatewayWebsocketProxyRequest) ([]string, bool) {
	if h.opts.Authorize != nil {
		if err := h.opts.Authorize(ctx, req); err != nil {
			status, msg := http.StatusForbidden, "Forbidden"
			if errors.Is(err, ErrUnauthorized) {
				status, msg = http.StatusUnauthorized, "Unauthorized"
			}
			h.log.Info("websocket connection refused by the authorizer", "source_ip", c.sourceIP, "status", status)
			writeError(w, status, "", msg)
			return nil, false
		}
	}
	route := h.opts.Routes[RouteConnect]
	if route == nil {
		return nil, true
	}
	resp, err := h.call(ctx, route, req)
	if err != nil {
		h.log.Error("$connect route failed", "connection_id", c.id, "err", err)
		writeError(w, http.StatusInternalServerError, "", "Internal server error")
		return nil, false
	}
	if resp.StatusCode >= 300 {
		h.log.Info("websocket connection refused by $connect", "source_ip", c.sourceIP, "status", resp.StatusCode)
		writeError(w, resp.StatusCode, "", http.StatusText(resp.StatusCode))
		return nil, false
	}
	if p := resp.Headers["Sec-WebSocket-Protocol"]; p != "" {
		return []string{p}, true
	}
	return nil, true
}

// run reads and routes messages until the connection ends.
func (h *Hub) run(ctx context.Context, c *conn, watch *frameWatcher) {
	stop := h.watchdog(c)
	defer stop()
	for {
		typ, data, err := c.ws.Read(ctx)
		if watch.tooBig() {
			c.stop(closeTooBig, "Message too big")
			return
		}
		if err != nil {
			c.closeOnce.Do(func() {
				c.closeCode, c.closeReason = closedAbnormal, "Connection closed abnormally"
				if ce := (websocket.CloseError{}); errors.As(err, &ce) {
					c.closeCode, c.closeReason = ce.Code, ce.Reason
				}
				_ = c.ws.CloseNow()
			})
			return
		}
		c.touch()
		h.route(ctx, c, typ, data)
	}
}

// watchdog closes the connection with 1001 when it has been idle for the
// idle timeout or open for the maximum lifetime. It is a timer, not a
// goroutine per connection (thousands of data planes would each hold
// one); the returned function stops it and waits for a close it started.
func (h *Hub) watchdog(c *conn) (stop func()) {
	end := c.connectedAt.Add(h.opts.MaxLifetime)
	due := func() time.Time {
		if d := c.lastActiveAt().Add(h.opts.IdleTimeout); d.Before(end) {
			return d
		}
		return end
	}
	var (
		mu      sync.Mutex
		stopped bool
		timer   *time.Timer
		closing sync.WaitGroup
	)
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if d := time.Until(due()); d > 0 {
			timer.Reset(d)
			return
		}
		reason := "idle timeout"
		if !time.Now().Before(end) {
			reason = "maximum connection lifetime"
		}
		h.log.Info("closing websocket", "connection_id", c.id, "reason", reason)
		closing.Go(func() { c.stop(closeGoingAway, "Going away") })
	}
	mu.Lock()
	timer = time.AfterFunc(time.Until(due()), check)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		mu.Unlock()
		closing.Wait()
	}
}

// disconnect runs $disconnect, best effort, after the connection is gone.
func (h *Hub) disconnect(ctx context.Context, c *conn) {
	h.log.Info("websocket disconnected", "connection_id", c.id, "status", int(c.closeCode))
	route := h.opts.Routes[RouteDisconnect]
	if route == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectGrace)
	defer cancel()
	if _, err := h.call(ctx, route, h.disconnectEvent(c)); err != nil {
		h.log.Warn("$disconnect route failed", "connection_id", c.id, "err", err)
	}
}
