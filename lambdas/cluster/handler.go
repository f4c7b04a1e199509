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
}

// Handler serves the WebSocket API's routes, as a Lambda in AWS and
// behind the local hub in `skyport local`.
type Handler struct {
	opts HandlerOptions
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
	return &Handler{opts: opts}
}

// errBadRequest marks a message the data plane got wrong.
var errBadRequest = errors.New("bad request")

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
		err = h.status(ctx, rc, req.Body)
	default:
		return respond(http.StatusBadRequest, "unknown action"), nil
	}
	switch {
	case errors.Is(err, errBadRequest):
		return respond(http.StatusBadRequest, err.Error()), nil
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
		IP:          rc.Identity.SourceIP,
		ConnectedAt: now.Unix(),
		ExpiresAt:   now.Add(h.opts.ConnectionTTL).Unix(),
	})
}

// decode parses a frame into v and checks that it names a node.
func decode(body string, v any, nodeID *string) error {
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("%w: invalid JSON: %w", errBadRequest, err)
	}
	if *nodeID == "" {
		return fmt.Errorf("%w: node_id is required", errBadRequest)
	}
	return nil
}

// touchConnection records which node owns the connection and pushes its
// expiry forward.
func (h *Handler) touchConnection(ctx context.Context, rc events.APIGatewayWebsocketProxyRequestContext, nodeID string) error {
	now := h.opts.Clock()
	c, err := h.opts.Registry.GetConnection(ctx, rc.ConnectionID)
	if errors.Is(err, ErrNotFound) {
		c = Connection{ID: rc.ConnectionID, IP: rc.Identity.SourceIP, ConnectedAt: now.Unix()}
	} else if err != nil {
		return err
	}
	c.NodeID = nodeID
	c.ExpiresAt = now.Add(h.opts.ConnectionTTL).Unix()
	return h.opts.Registry.PutConnection(ctx, c)
}

// node returns the data plane's row, or a new one.
func (h *Handler) node(ctx context.Context, nodeID string) (Node, error) {
	n, err := h.opts.Registry.GetNode(ctx, nodeID)
	if errors.Is(err, ErrNotFound) {
		return Node{NodeID: nodeID}, nil
	}
	return n, err
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
