// Package apigw serves a net/http handler behind an API Gateway HTTP API:
// it converts payload format 2.0 events (events.APIGatewayV2HTTPRequest)
// to *http.Request and the handler's answer to
// events.APIGatewayV2HTTPResponse, binary-safe in both directions.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// PrefixHeader carries the path prefix (a named stage, "/prod") that
// Request removed, so that links the handler builds can put it back.
const PrefixHeader = "X-Forwarded-Prefix"

// Handler returns a Lambda handler that serves h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, e)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json; charset=utf-8"},
				Body:       `{"message":"Bad request"}`,
			}, nil
		}
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		return rec.response(), nil
	}
}

// Request converts an event to the request it stands for: the raw path
// (without the stage prefix of a named stage, which goes to PrefixHeader),
// the raw query string (so
// repeated keys survive), headers, cookies and the decoded body.
func Request(ctx context.Context, e events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	rawPath, prefix := e.RawPath, ""
	if stage := e.RequestContext.Stage; stage != "" && stage != "$default" {
		if rest, ok := strings.CutPrefix(rawPath, "/"+stage); ok && (rest == "" || rest[0] == '/') {
			rawPath, prefix = rest, "/"+stage
		}
	}
	if rawPath == "" {
		rawPath = "/"
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("unescaping path %q: %w", rawPath, err)
	}
	u := &url.URL{Path: path, RawPath: rawPath, RawQuery: e.RawQueryString}
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return nil, fmt.Errorf("decoding base64 body: %w", err)
		}
	}
	method := e.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.URL = u
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Del(PrefixHeader)
	if prefix != "" {
		req.Header.Set(PrefixHeader, prefix)
	}
	if len(e.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	if req.Header.Get("X-Request-Id") == "" && e.RequestContext.RequestID != "" {
		req.Header.Set("X-Request-Id", e.RequestContext.RequestID)
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = e.RequestContext.DomainName
	}
	req.RequestURI = u.RequestURI()
	req.RemoteAddr = e.RequestContext.HTTP.SourceIP
	req.Proto = e.RequestContext.HTTP.Protocol
	if req.Proto == "" {
		req.Proto = "HTTP/1.1"
	}
	req.ContentLength = int64(len(body))
	return req, nil
}

// recorder collects a handler's answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(p)
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// response builds the event answer: Set-Cookie headers become cookies,
// other repeated headers are joined with commas, and a body that is not
// UTF-8 text is base64-encoded.
func (r *recorder) response() events.APIGatewayV2HTTPResponse {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: r.status, Headers: map[string]string{}}
	for k, v := range r.header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, v...)
			continue
		}
		out.Headers[k] = strings.Join(v, ",")
	}
	body := r.body.Bytes()
	if isText(r.header.Get("Content-Type")) && utf8.Valid(body) {
		out.Body = string(body)
	} else if len(body) > 0 {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64Encoded = true
	}
	return out
}

// isText reports whether a content type is textual.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType == ""
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") ||
		strings.HasSuffix(mt, "yaml") || strings.HasSuffix(mt, "xml") || mt == "application/x-www-form-urlencoded"
}
