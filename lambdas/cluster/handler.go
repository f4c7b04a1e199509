package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
)

// Route keys of the WebSocket API besides the actions.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// HandlerOptions configures the WebSocket route handler.
type HandlerOptions struct {
	// Registry holds connection and data-plane rows. Required.
	Registry Registry
	// Objects is the snapshot store, read for latest.json. Required.
	Objects objstore.Store
	// Notifier posts config notices to a data plane that is behind.
	// Required.
	Notifier Notifier
	// Presigner, when set, puts a presigned URL in config notices.
	Presigner objstore.Presigner
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// ConnectionTTL and DataPlaneTTL default to DefaultConnectionTTL and
	// DefaultDataPlaneTTL.
	ConnectionTTL time.Duration
	DataPlaneTTL  time.Duration
	// LatestTTL is how long a status message may be answered from the
	// pointer (and released.json) read for an earlier one; default
	// DefaultLatestTTL.
	LatestTTL time.Duration
}

// DefaultLatestTTL bounds how stale the pointer a status is checked
// against may be: a data plane that missed a notice is told within a
// heartbeat, and a fleet's heartbeats cost one read of latest.json every
// few seconds per handler instance, not one each.
const DefaultLatestTTL = 5 * time.Second

// Handler serves the WebSocket API's routes, as a Lambda in AWS and
// behind the local hub in `skyport local`.
type Handler struct {
	opts     HandlerOptions
	latest   latestCache
	released releasedCache
}

// NewHandler returns a route handler; it fills the options' defaults.
func NewHandler(opts HandlerOptions) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.ConnectionTTL <= 0 {
		opts.ConnectionTTL = DefaultConnectionTTL
	}
	if opts.DataPlaneTTL <= 0 {
		opts.DataPlaneTTL = DefaultDataPlaneTTL
	}
	if opts.LatestTTL <= 0 {
		opts.LatestTTL = DefaultLatestTTL
	}
	return &Handler{opts: opts, latest: latestCache{ttl: opts.LatestTTL}, released: releasedCache{ttl: opts.LatestTTL}}
}

// Errors of the route handlers, answered as 4xx.
var (
	// errBadRequest marks a message the data plane got wrong.
	errBadRequest = errors.New("bad request")
	// errForbidden marks a message the data plane may not send.
	errForbidden = errors.New("forbidden")
)

// Handle routes one WebSocket event. Client mistakes answer 4xx; only a
// failure of the registry answers 500. It never returns an error, so a
// bad frame cannot make the Lambda report a failure.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := req.RequestContext
	log := h.opts.Logger.With("route", rc.RouteKey, "connection_id", rc.ConnectionID)
	if rc.ConnectionID == "" {
		return respond(http.StatusBadRequest, "missing connection id"), nil
	}
	var err error
	switch rc.RouteKey {
	case RouteConnect:
		if rc.Identity.SourceIP == "" {
			return respond(http.StatusForbidden, "missing identity"), nil
		}
		err = h.connect(ctx, rc)
	case RouteDisconnect:
		err = h.opts.Registry.DeleteConnection(ctx, rc.ConnectionID)
	case protocol.ActionHello:
		err = h.hello(ctx, rc, req.Body, log)
	case protocol.ActionStatus:
		err = h.status(ctx, rc, req.Body, log)
	default:
		return respond(http.StatusBadRequest, "unknown action"), nil
	}
	switch {
	case errors.Is(err, errBadRequest):
		return respond(http.StatusBadRequest, err.Error()), nil
	case errors.Is(err, errForbidden):
		log.WarnContext(ctx, "websocket message refused", "error", err)
		return respond(http.StatusForbidden, err.Error()), nil
	case err != nil:
		log.ErrorContext(ctx, "handling websocket route", "error", err)
		return respond(http.StatusInternalServerError, "internal error"), nil
	}
	return respond(http.StatusOK, "ok"), nil
}

func respond(code int, msg string) events.APIGatewayProxyResponse {
	body, _ := json.Marshal(map[string]string{"message": msg})
	return events.APIGatewayProxyResponse{StatusCode: code, Body: string(body)}
}

func (h *Handler) connect(ctx context.Context, rc events.APIGatewayWebsocketProxyRequestContext) error {
	now := h.opts.Clock()
	return h.opts.Registry.PutConnection(ctx, Connection{
		ID:          rc.ConnectionID,
		Owner:       principal(rc),
		IP:          rc.Identity.SourceIP,
		ConnectedAt: now.Unix(),
		ExpiresAt:   now.Add(h.opts.ConnectionTTL).Unix(),
	})
}

// principal names the credential behind an event: the authorizer's
// principal (token mode), else the IAM caller (IAM mode), else nobody
// (an open local hub).
func principal(rc events.APIGatewayWebsocketProxyRequestContext) string {
	if m, ok := rc.Authorizer.(map[string]any); ok {
		if p, ok := m["principalId"].(string); ok && p != "" {
			return p
		}
	}
	return rc.Identity.UserArn
}

// bind ties the connection to the node its message names: the first hello
// (or status) fixes it, and a message for another node is refused. It
// returns the credential the node's row counts against.
func (h *Handler) bind(ctx context.Context, rc events.APIGatewayWebsocketProxyRequestContext, nodeID string) (string, error) {
	now := h.opts.Clock()
	c, err := h.opts.Registry.BindConnection(ctx, Connection{
		ID:          rc.ConnectionID,
		NodeID:      nodeID,
		Owner:       principal(rc),
		IP:          rc.Identity.SourceIP,
		ConnectedAt: now.Unix(),
		ExpiresAt:   now.Add(h.opts.ConnectionTTL).Unix(),
	})
	if errors.Is(err, ErrNodeMismatch) {
		return "", fmt.Errorf("%w: this connection speaks for another node than %q", errForbidden, nodeID)
	}
	if err != nil {
		return "", err
	}
	if c.Owner != "" {
		return c.Owner, nil
	}
	return principal(rc), nil
}

// updateNode applies fn to the node's row; a credential at its row limit
// is refused.
func (h *Handler) updateNode(ctx context.Context, nodeID, owner string, fn func(*Node)) error {
	err := h.opts.Registry.UpdateNode(ctx, nodeID, owner, fn)
	if errors.Is(err, ErrNodeLimit) {
		return fmt.Errorf("%w: %w", errForbidden, err)
	}
	return err
}

func (h *Handler) seen(n *Node, ip string) {
	now := h.opts.Clock()
	if ip != "" {
		n.IP = ip
	}
	n.LastSeen = now.Unix()
	n.UpdatedAt = now.Unix()
	n.ExpiresAt = now.Add(h.opts.DataPlaneTTL).Unix()
}
