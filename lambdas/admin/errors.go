package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

const (
	msgUnexpected = "An unexpected error occurred"
	msgNotFound   = "Not found"
	msgMethod     = "Method not allowed"
)

// messageBody is Kong's body for errors without a code.
type messageBody struct {
	Message string `json:"message"`
}

func message(m string) messageBody { return messageBody{Message: m} }

// statusOf maps Kong's error codes to HTTP statuses.
func statusOf(c model.Code) int {
	switch c {
	case model.CodeUniqueViolation, model.CodeDatabaseError:
		// Skyport's only database error is a write that kept losing to
		// concurrent writes (see conflict): the client may retry.
		return http.StatusConflict
	case model.CodeNotFound:
		return http.StatusNotFound
	case model.CodeOperationUnsupported:
		return http.StatusMethodNotAllowed
	}
	return http.StatusBadRequest
}

// writeError answers err: a *model.Error becomes Kong's error body with its
// status, a too-large body 413, anything else a logged 500 whose details
// stay in the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var me *model.Error
	var tooBig *http.MaxBytesError
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeJSON(w, he.status, message(he.msg))
	case errors.As(err, &me):
		if me.Name == "" {
			me.Name = me.Code.Name()
		}
		writeJSON(w, statusOf(me.Code), me)
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, message("Request size limit exceeded"))
	default:
		h.log.ErrorContext(r.Context(), "admin api request failed",
			"method", r.Method, "path", r.URL.Path, "request_id", r.Header.Get("X-Request-Id"), "error", err)
		writeJSON(w, http.StatusInternalServerError, message(msgUnexpected))
	}
}

func notFound(w http.ResponseWriter) { writeJSON(w, http.StatusNotFound, message(msgNotFound)) }

func methodNotAllowed(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed, message(msgMethod))
}

// isNotFound reports whether err is a store "not found".
func isNotFound(err error) bool {
	return errors.Is(err, &model.Error{Code: model.CodeNotFound})
}

// fieldError is a schema violation on one field.
func fieldError(field, msg string) error {
	f := model.FieldErrors{}
	f.Add(field, msg)
	return f.Err()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// origin describes the request for the store's change history.
func origin(r *http.Request) store.Origin {
	return store.Origin{RequestID: r.Header.Get("X-Request-Id"), Method: r.Method, Path: r.URL.Path}
}
