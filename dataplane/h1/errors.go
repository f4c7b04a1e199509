package h1

import (
	"errors"
	"net/http"
)

// Errors a request body's Read returns; StatusOf maps them to the answer
// nginx gives.
var (
	// ErrBodyTooLarge: the body is larger than Limits.MaxBodySize (413).
	ErrBodyTooLarge = errors.New("h1: request body too large")
	// ErrBodyTimeout: the client sent no body bytes for
	// Limits.BodyTimeout (408).
	ErrBodyTimeout = errors.New("h1: request body timed out")
	// ErrMalformedBody: the chunked framing or the trailer is invalid (400).
	ErrMalformedBody = errors.New("h1: malformed chunked request body")
	// ErrHijacked: the connection was taken over by Hijack.
	ErrHijacked = errors.New("h1: connection hijacked")
	// ErrContentLength: a handler wrote more than the Content-Length it
	// set.
	ErrContentLength = errors.New("h1: wrote more than the declared Content-Length")
	// ErrServerClosed: Serve returns it after Shutdown or Close.
	ErrServerClosed = errors.New("h1: server closed")
)

// Kong's messages for the answers the server gives itself
// (kong/error_handlers.lua).
const (
	msgBadRequest     = "Bad request"
	msgHeaderTooLarge = "Request header or cookie too large"
	msgURITooLong     = "URI too long"
	msgTooLarge       = "Payload too large"
	msgTimeout        = "Request timeout"
	msgExpectation    = "Expectation failed"
	msgNotImplemented = "Not implemented"
	msgVersion        = "HTTP version not supported"
)

// StatusOf is the status answering a request whose body read failed with
// err: 413, 408 or 400; 0 for other errors (the client went away).
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBodyTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrMalformedBody):
		return http.StatusBadRequest
	}
	return 0
}

// Message is Kong's message for a status the server answers itself.
func Message(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return msgTooLarge
	case http.StatusRequestTimeout:
		return msgTimeout
	case http.StatusRequestURITooLong:
		return msgURITooLong
	case http.StatusExpectationFailed:
		return msgExpectation
	case http.StatusNotImplemented:
		return msgNotImplemented
	case http.StatusHTTPVersionNotSupported:
		return msgVersion
	}
	return msgBadRequest
}

// headError is a refused request head: the status and Kong's message.
type headError struct {
	status int
	msg    string
	// why says what was wrong, for tests and logs.
	why string
}

func (e *headError) Error() string { return "h1: " + e.why }

func badRequest(why string) *headError {
	return &headError{status: http.StatusBadRequest, msg: msgBadRequest, why: why}
}
