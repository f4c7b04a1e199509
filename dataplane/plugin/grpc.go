package plugin

import (
	"net/http"
	"strconv"
	"strings"
)

// IsGRPC reports whether r is a gRPC request as Kong tells one
// (kong/pdk/response.lua, is_grpc_request): a Content-Type starting with
// application/grpc, over HTTP/2.
func IsGRPC(r *http.Request) bool {
	ct := r.Header["Content-Type"]
	return r.ProtoMajor == 2 && len(ct) > 0 && strings.HasPrefix(ct[0], typeGRPC)
}

// grpcCodes maps HTTP statuses to gRPC status codes (kong/pdk/response.lua,
// HTTP_TO_GRPC_STATUS).
var grpcCodes = map[int]int{
	200: 0, 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4,
}

// grpcMessages are the names of gRPC's status codes, Kong's grpc-message
// for a body it does not turn into one.
var grpcMessages = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

// GRPCCode is the grpc-status Kong sends for an HTTP status: its table,
// else 13 for 5xx, 3 for 4xx, 0 for 2xx and 2 (Unknown) for the rest.
func GRPCCode(status int) int {
	if c, ok := grpcCodes[status]; ok {
		return c
	}
	switch {
	case status >= 500 && status <= 599:
		return grpcCodes[500]
	case status >= 400 && status <= 499:
		return grpcCodes[400]
	case status >= 200 && status <= 299:
		return grpcCodes[200]
	}
	return 2
}

// renderGRPC writes a response to a gRPC request as kong/pdk/response.lua's
// send does: grpc-status from the HTTP status (unless set), a message
// (kong.response.exit's {message = …}, error_handlers' page) as
// grpc-message with no body; kong.response.error sends no message. So that
// gRPC clients read the status, an answer without a body also gets
// Content-Type application/grpc (Kong leaves it unset outside
// kong.response.error, which clients then read as an HTTP failure). It
// reports false for a response it leaves to the ordinary rendering (one
// whose Content-Type is set and is not gRPC's).
func (resp *Response) renderGRPC() bool {
	ct, hasCT := resp.Header["Content-Type"]
	grpcOutput := hasCT && len(ct) > 0 && strings.HasPrefix(ct[0], typeGRPC)
	switch {
	case resp.kind == negotiated || resp.kind == page || resp.kind == message:
		if hasCT && !grpcOutput && resp.kind != message {
			return false
		}
		if resp.kind != negotiated {
			resp.Header["Grpc-Message"] = []string{resp.Message}
		}
		resp.Body = []byte{}
	case hasCT && !grpcOutput:
		return false
	}
	code := GRPCCode(resp.Status)
	if _, ok := resp.Header["Grpc-Status"]; !ok {
		resp.Header["Grpc-Status"] = []string{strconv.Itoa(code)}
		if _, ok := resp.Header["Grpc-Message"]; !ok && len(resp.Body) > 0 && code < len(grpcMessages) {
			resp.Header["Grpc-Message"] = []string{grpcMessages[code]}
		}
	}
	if len(resp.Body) == 0 {
		resp.Header["Content-Type"] = []string{typeGRPC}
	}
	return true
}
