// Package hub is a WebSocket server that behaves like an API Gateway
// WebSocket API, for running the control plane on one machine: it upgrades
// connections on the stage path, runs the $connect, $disconnect and
// message routes through handlers with the Lambda proxy event shape
// (events.APIGatewayWebsocketProxyRequest), enforces API Gateway's frame,
// message, idle and lifetime limits, and serves the @connections
// management API that the AWS SDK's apigatewaymanagementapi client calls.
//
// The management API answers loopback clients only, and only calls signed
// with Signature Version 4 by the credentials in Options (as API Gateway
// requires IAM-signed calls): a process on the same machine cannot post
// to data planes without them. Do not expose the hub's listener beyond the
// machine without a token check on $connect.
package hub

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// API Gateway's WebSocket limits (REFERENCE.md).
const (
	// FrameLimit is the largest frame a client may send.
	FrameLimit = 32 << 10
	// MessageLimit is the largest message a client may send or be sent.
	MessageLimit = 128 << 10
	// DefaultIdleTimeout closes a connection with no messages for this long.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMaxLifetime closes any connection this long after it opened.
	DefaultMaxLifetime = 2 * time.Hour
)

// Route keys API Gateway reserves.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// Handler is a route's integration: the Lambda proxy handler signature.
type Handler func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error)

// Authorizer decides whether an upgrade may proceed, as a REQUEST
// authorizer on $connect does; it sees the headers, query string and
// source IP of the $connect event. It returns nil to allow,
// ErrUnauthorized to refuse with 401, and any other error to refuse with
// 403.
type Authorizer func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) error

// Options configure a Hub; only Routes is required.
type Options struct {
	// Routes maps route keys ($connect, $disconnect, $default, or the
	// value of the body's "action" field) to their handlers.
	Routes map[string]Handler
	// Authorize, when set, runs before $connect.
	Authorize Authorizer
	// Stage is an optional path prefix ("prod" serves /prod and
	// /prod/@connections/…); requests without it are served too.
	Stage string
	// APIID and DomainName fill the request context; defaults "local"
	// and the request's Host.
	APIID      string
	DomainName string
	// IdleTimeout and MaxLifetime default to API Gateway's 10 minutes
	// and 2 hours.
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// ManagementCredentials are the access key and secret the management
	// API's callers sign with (Signature Version 4, service execute-api);
	// without them every management call is refused.
	ManagementCredentials aws.Credentials
	// AcceptRate bounds new connections a second (a token bucket with one
	// second's burst); beyond it upgrades are refused with 429. 0 means
	// DefaultAcceptRate, a negative value no bound.
	AcceptRate int
	// Now is the clock signatures and the accept rate are checked
	// against; default time.Now.
	Now func() time.Time
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// Hub is the WebSocket API and its management API, as one http.Handler.
type Hub struct {
	opts    Options
	log     *slog.Logger
	accepts *acceptLimiter

	mu     sync.Mutex
	conns  map[string]*conn
	closed bool
	wg     sync.WaitGroup
}

var _ http.Handler = (*Hub)(nil)

// New returns a Hub with opts, defaults filled in.
func New(opts Options) *Hub {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxLifetime <= 0 {
		opts.MaxLifetime = DefaultMaxLifetime
	}
	if opts.APIID == "" {
		opts.APIID = "local"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Stage = strings.Trim(opts.Stage, "/")
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.AcceptRate == 0 {
		opts.AcceptRate = DefaultAcceptRate
	}
	h := &Hub{opts: opts, log: log, conns: map[string]*conn{}}
	if opts.AcceptRate > 0 {
		h.accepts = newAcceptLimiter(opts.AcceptRate, opts.Now())
	}
	return h
}

// ServeHTTP serves WebSocket upgrades on the stage path and the
// management API below /@connections/.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if h.opts.Stage != "" {
		if p, ok := strings.CutPrefix(path, "/"+h.opts.Stage); ok && (p == "" || p[0] == '/') {
			path = p
		}
	}
	if rest, ok := strings.CutPrefix(path, "/@connections/"); ok {
		h.manage(w, r, rest)
		return
	}
	if path != "/" && path != "" {
		writeError(w, http.StatusNotFound, "NotFoundException", "No route for "+r.URL.Path)
		return
	}
	h.serveWebSocket(w, r)
}

// Close closes every connection with 1001 "Going away", runs their
// $disconnect routes and waits for them; later upgrades are refused.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var stopping sync.WaitGroup
	for _, c := range conns {
		stopping.Go(func() { c.stop(closeGoingAway, "Going away") })
	}
	stopping.Wait()
	h.wg.Wait()
}

// begin counts an upgrade in progress, so Close waits for it; false when
// the hub is closed. Every true answer is matched by a call to end.
func (h *Hub) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

func (h *Hub) end() { h.wg.Done() }

// register makes c reachable by the management API and by Close; false
// when the hub is closed.
func (h *Hub) register(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c.id] = c
	return true
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	delete(h.conns, c.id)
	h.mu.Unlock()
}

func (h *Hub) now() time.Time { return h.opts.Now() }

func (h *Hub) lookup(id string) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[id]
}
