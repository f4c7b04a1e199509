package hub

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
)

// manage serves the @connections management API for the connection whose
// escaped id is rawID: POST sends the body as a text message, GET
// describes the connection, DELETE closes it. It answers loopback clients
// only, and only calls signed (Signature Version 4) with the hub's
// management credentials, as API Gateway requires IAM-signed calls.
func (h *Hub) manage(w http.ResponseWriter, r *http.Request, rawID string) {
	if ip := net.ParseIP(sourceIP(r)); ip == nil || !ip.IsLoopback() {
		writeError(w, http.StatusForbidden, "ForbiddenException", "the management API answers loopback clients only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MessageLimit+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "reading the message")
		return
	}
	if len(body) > MessageLimit {
		writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Message too long")
		return
	}
	if e := h.authenticate(r.Context(), r, body); e != nil {
		h.log.Warn("management call refused", "error_type", e.errType, "reason", e.msg)
		writeError(w, http.StatusForbidden, e.errType, e.msg)
		return
	}
	id, err := url.PathUnescape(rawID)
	if err != nil || id == "" {
		writeError(w, http.StatusBadRequest, "BadRequestException", "Invalid connectionId")
		return
	}
	c := h.lookup(id)
	if c == nil || !c.accepted(r.Context()) {
		writeError(w, http.StatusGone, "GoneException", "connection "+id+" is gone")
		return
	}
	switch r.Method {
	case http.MethodPost:
		if err := c.send(r.Context(), body); err != nil {
			h.log.Debug("posting to a connection", "connection_id", id, "err", err)
			writeError(w, http.StatusGone, "GoneException", "connection "+id+" is gone")
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(connectionInfo{
			ConnectedAt:  isoTime(c.connectedAt),
			LastActiveAt: isoTime(c.lastActiveAt()),
			Identity:     identity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		})
	case http.MethodDelete:
		// The close handshake completes after the answer, as with API
		// Gateway; the connection's own count keeps Close waiting for it.
		h.wg.Go(func() { c.stop(websocket.StatusNormalClosure, "") })
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
	}
}

// connectionInfo is GetConnection's answer.
type connectionInfo struct {
	ConnectedAt  string   `json:"connectedAt"`
	LastActiveAt string   `json:"lastActiveAt"`
	Identity     identity `json:"identity"`
}

type identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// writeError answers with API Gateway's error shape: the error type in
// x-amzn-ErrorType (which the AWS SDK maps to its typed errors) and
// {"message": …} in the body.
func writeError(w http.ResponseWriter, status int, errType, msg string) {
	if errType != "" {
		w.Header().Set("x-amzn-ErrorType", errType)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var m *string
	if msg != "" {
		m = &msg
	}
	_ = json.NewEncoder(w).Encode(struct {
		Message *string `json:"message"`
	}{m})
}
