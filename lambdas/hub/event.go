package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// newConnectionID returns an id shaped like API Gateway's (16 base64
// characters), avoiding '/' and '+' so it needs no escaping in a path.
func newConnectionID() string {
	for {
		b := make([]byte, 11)
		_, _ = rand.Read(b)
		id := base64.StdEncoding.EncodeToString(b)
		if !strings.ContainsAny(id, "/+") {
			return id
		}
	}
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// baseEvent fills the request context every event carries.
func (h *Hub) baseEvent(c *conn, eventType, routeKey, domain string) events.APIGatewayWebsocketProxyRequest {
	now := time.Now()
	reqID := newRequestID()
	stage := h.opts.Stage
	if stage == "" {
		stage = "local"
	}
	if h.opts.DomainName != "" {
		domain = h.opts.DomainName
	}
	return events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			Stage:             stage,
			RequestID:         reqID,
			ExtendedRequestID: reqID,
			Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
			APIID:             h.opts.APIID,
			ConnectedAt:       c.connectedAt.UnixMilli(),
			ConnectionID:      c.id,
			DomainName:        domain,
			EventType:         eventType,
			MessageDirection:  "IN",
			RequestTime:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch:  now.UnixMilli(),
			RouteKey:          routeKey,
		},
	}
}

// connectEvent is the $connect event: the upgrade's headers and query.
func (h *Hub) connectEvent(c *conn, r *http.Request) events.APIGatewayWebsocketProxyRequest {
	req := h.baseEvent(c, "CONNECT", RouteConnect, r.Host)
	req.Headers, req.MultiValueHeaders = map[string]string{}, map[string][]string{}
	for k, v := range r.Header {
		req.Headers[k] = strings.Join(v, ",")
		req.MultiValueHeaders[k] = v
	}
	if q := r.URL.Query(); len(q) > 0 {
		req.QueryStringParameters, req.MultiValueQueryStringParameters = map[string]string{}, q
		for k, v := range q {
			req.QueryStringParameters[k] = v[len(v)-1]
		}
	}
	return req
}

func (h *Hub) disconnectEvent(c *conn) events.APIGatewayWebsocketProxyRequest {
	req := h.baseEvent(c, "DISCONNECT", RouteDisconnect, "")
	req.RequestContext.DisconnectStatusCode = int64(c.closeCode)
	reason := c.closeReason
	req.RequestContext.DisconnectReason = &reason
	return req
}

// route runs the route a message selects with the route selection
// expression $request.body.action, or $default.
func (h *Hub) route(ctx context.Context, c *conn, typ websocket.MessageType, data []byte) {
	key, body, b64 := RouteDefault, string(data), false
	if typ == websocket.MessageText {
		var sel struct {
			Action any `json:"action"`
		}
		if json.Unmarshal(data, &sel) == nil {
			if a, ok := sel.Action.(string); ok && h.opts.Routes[a] != nil {
				key = a
			}
		}
	} else {
		body, b64 = base64.StdEncoding.EncodeToString(data), true
	}
	req := h.baseEvent(c, "MESSAGE", key, "")
	req.RequestContext.MessageID = newRequestID()
	req.Body, req.IsBase64Encoded = body, b64
	handler := h.opts.Routes[key]
	if handler == nil {
		h.reply(ctx, c, "Forbidden", req.RequestContext.RequestID)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, routeTimeout)
	defer cancel()
	if _, err := h.call(ctx, handler, req); err != nil {
		h.log.Error("websocket route failed", "route", key, "connection_id", c.id, "err", err)
		h.reply(ctx, c, "Internal server error", req.RequestContext.RequestID)
	}
}

// reply sends API Gateway's error message for a message it could not route.
func (h *Hub) reply(ctx context.Context, c *conn, msg, requestID string) {
	b, _ := json.Marshal(map[string]string{"message": msg, "connectionId": c.id, "requestId": requestID})
	if err := c.send(ctx, b); err != nil {
		h.log.Debug("replying to websocket", "connection_id", c.id, "err", err)
	}
}

// call runs a handler, turning a panic into an error.
func (h *Hub) call(ctx context.Context, fn Handler, req events.APIGatewayWebsocketProxyRequest) (resp events.APIGatewayProxyResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %s panicked: %v\n%s", req.RequestContext.RouteKey, p, debug.Stack())
		}
	}()
	return fn(ctx, req)
}
