package plugin

import (
	"net/http"
	"strconv"
)

// Response is an answer the data plane gives instead of proxying: a
// plugin's (Kong's kong.response.exit and kong.response.error) or the
// proxy's own.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Message is the text of a response made by Error or ErrorPage; Render
	// writes it into Body in the format the request asks for.
	Message string

	kind kind
}

// kind says how Render builds a response's body.
type kind uint8

const (
	// exit: Body is final (kong.response.exit).
	exit kind = iota
	// negotiated: kong.response.error, formatted by the Accept header
	// (JSON when there is none).
	negotiated
	// page: kong/error_handlers.lua, formatted by Accept, else the
	// request's Content-Type, else error_default_type (text/plain).
	page
	// message: kong.response.exit(status, {message = …}): Body is final,
	// except for a gRPC request, where Message is its grpc-message.
	message
)

// errorDefaultType is Kong's error_default_type default
// (kong/templates/kong_defaults.lua).
const errorDefaultType = "text/plain"

// JSONMessage is kong.response.exit(status, {message = msg}): the body
// {"message":"…"} as lua-cjson encodes it, without a request id or a
// trailing newline.
func JSONMessage(status int, msg string) *Response {
	h := http.Header{}
	h["Content-Type"] = []string{contentTypeJSON}
	b := make([]byte, 0, len(msg)+16)
	b = append(b, `{"message":`...)
	b = appendCJSON(b, msg)
	b = append(b, '}')
	return &Response{Status: status, Header: h, Body: b, Message: msg, kind: message}
}

// Empty is kong.response.exit(status) with no body: Content-Length 0 and
// no Content-Type.
func Empty(status int) *Response {
	return &Response{Status: status, Header: http.Header{}, Body: []byte{}}
}

// Error is kong.response.error(status, msg) (kong/pdk/response.lua): the
// message, or the status's default message when msg is empty, in the
// format the request's Accept header asks for (JSON, HTML, XML or plain
// text; JSON when there is none), with the request id. The proxy renders
// it.
func Error(status int, msg string) *Response {
	if msg == "" {
		msg = StatusMessage(status)
	}
	return &Response{Status: status, Header: http.Header{}, Message: msg, kind: negotiated}
}

// ErrorPage is the answer kong/error_handlers.lua gives for nginx's own
// errors (an upstream that fails or times out, a body that cannot be
// read): msg in the format of the Accept header, else of the request's
// Content-Type, else text/plain.
func ErrorPage(status int, msg string) *Response {
	if msg == "" {
		msg = StatusMessage(status)
	}
	return &Response{Status: status, Header: http.Header{}, Message: msg, kind: page}
}

// Render writes the body of a response made by Error or ErrorPage for
// request r, with requestID in it, and sets its Content-Type; other
// responses are left as they are. Content-Length is set on every
// response whose status has a body. A gRPC request (IsGRPC) is answered
// with grpc-status and grpc-message as Kong answers it (see renderGRPC).
func (resp *Response) Render(r *http.Request, requestID string) {
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if resp.kind == message {
		// Only a JSON body kept as made stands for Kong's {message = …}.
		if ct := resp.Header["Content-Type"]; len(ct) != 1 || ct[0] != contentTypeJSON {
			resp.kind = exit
		}
	}
	if IsGRPC(r) && resp.renderGRPC() {
		resp.kind = exit
		if bodyAllowed(resp.Status) {
			resp.Header["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
		}
		return
	}
	switch resp.kind {
	case negotiated:
		mt := ""
		if ct, ok := resp.Header["Content-Type"]; ok && len(ct) > 0 {
			mt = ct[0]
		} else {
			mt = ResponseType(r.Header["Accept"]...)
		}
		resp.renderTemplate(mt, requestID)
	case page:
		accept := errorDefaultType
		if v, ok := r.Header["Accept"]; ok && len(v) > 0 {
			accept = v[0]
		} else if v, ok := r.Header["Content-Type"]; ok && len(v) > 0 {
			accept = v[0]
		}
		if len(accept) >= len(typeGRPC) && accept[:len(typeGRPC)] == typeGRPC {
			*resp = *JSONMessage(resp.Status, resp.Message)
			break
		}
		resp.renderTemplate(ResponseType(accept), requestID)
	}
	resp.kind = exit
	if resp.Body != nil && bodyAllowed(resp.Status) {
		resp.Header["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	}
}

// bodyAllowed reports whether a response with this status has a body
// (and so a Content-Length): not 1xx, 204 or 304.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

func (resp *Response) renderTemplate(mt, requestID string) {
	body, ok := errorBody(mt, resp.Message, requestID)
	if !ok {
		// No template for a Content-Type set by hand: JSON, Kong's default.
		mt = contentTypeJSON
		body, _ = errorBody(mt, resp.Message, requestID)
	}
	if mt != "" {
		resp.Header["Content-Type"] = []string{mt}
	}
	resp.Body = body
}

// StatusMessage is Kong's message for a status kong.response.error is
// given without one (kong/pdk/response.lua, HTTP_ERROR_MESSAGES).
func StatusMessage(status int) string {
	if m, ok := statusMessages[status]; ok {
		return m
	}
	return "The upstream server responded with " + strconv.Itoa(status)
}

var statusMessages = map[int]string{
	400: "Bad request",
	401: "Unauthorized",
	402: "Payment required",
	403: "Forbidden",
	404: "Not found",
	405: "Method not allowed",
	406: "Not acceptable",
	407: "Proxy authentication required",
	408: "Request timeout",
	409: "Conflict",
	410: "Gone",
	411: "Length required",
	412: "Precondition failed",
	413: "Payload too large",
	414: "URI too long",
	415: "Unsupported media type",
	416: "Range not satisfiable",
	417: "Expectation failed",
	418: "I'm a teapot",
	421: "Misdirected request",
	422: "Unprocessable entity",
	423: "Locked",
	424: "Failed dependency",
	425: "Too early",
	426: "Upgrade required",
	428: "Precondition required",
	429: "Too many requests",
	431: "Request header fields too large",
	451: "Unavailable for legal reasons",
	494: "Request header or cookie too large",
	500: "An unexpected error occurred",
	501: "Not implemented",
	502: "An invalid response was received from the upstream server",
	503: "The upstream server is currently unavailable",
	504: "The upstream server is timing out",
	505: "HTTP version not supported",
	506: "Variant also negotiates",
	507: "Insufficient storage",
	508: "Loop detected",
	510: "Not extended",
	511: "Network authentication required",
}
