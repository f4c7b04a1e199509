package awslambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
)

// maxMultipartMemory bounds a multipart body parsed for its arguments.
const maxMultipartMemory = reqbody.MaxSize

// rawContentTypes are sent as they are even when Base64EncodeBody is set
// (request-util.lua, raw_content_types).
var rawContentTypes = map[string]bool{
	"text/plain": true, "text/html": true, "application/xml": true, "text/xml": true, "application/soap+xml": true,
}

// errContentType is kong.request.get_body's failure for a body it cannot
// parse by type.
var errContentType = errors.New("unsupported content type")

// payload builds the invocation's payload, as request-util.lua's
// build_request_payload.
func (l *Lambda) payload(pc *plugin.Context, r *http.Request) ([]byte, error) {
	requestID := pc.RequestID()
	body, err := l.readBody(r)
	if err != nil {
		return nil, err
	}
	var v any
	switch c := &l.conf; {
	case c.AWSGatewayCompatible:
		v = gatewayEvent(pc, r, body, c.Base64EncodeBody, requestID)
	case c.ForwardRequestMethod || c.ForwardRequestURI || c.ForwardRequestHeaders || c.ForwardRequestBody:
		out := map[string]any{}
		if c.ForwardRequestMethod {
			out["request_method"] = r.Method
		}
		if c.ForwardRequestHeaders {
			out["request_headers"] = headerMap(r.Header, r.Host)
		}
		if c.ForwardRequestURI {
			uri := r.URL.EscapedPath()
			if r.URL.RawQuery != "" {
				uri += "?" + r.URL.RawQuery
			}
			out["request_uri"] = uri
			out["request_uri_args"] = uriargs.Parse(r.URL.RawQuery).Values()
		}
		if c.ForwardRequestBody {
			args, err := bodyArgs(r, body)
			raw := string(body)
			if errors.Is(err, errContentType) {
				args = map[string]any{}
				mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
				if !rawContentTypes[mt] && c.Base64EncodeBody {
					raw = base64.StdEncoding.EncodeToString(body)
					out["request_body_base64"] = true
				}
			}
			out["request_body"] = raw
			out["request_body_args"] = args
		}
		v = out
	default:
		out := uriargs.Parse(r.URL.RawQuery).Values()
		if args, err := bodyArgs(r, body); err == nil {
			for k, a := range args {
				out[k] = a
			}
		}
		v = out
	}
	return encodeJSON(v)
}

// readBody reads the request body whole, bounded; a larger one is left
// out when skip_large_bodies is set (Kong's body buffered to disk), and
// refused otherwise.
func (l *Lambda) readBody(r *http.Request) ([]byte, error) {
	b, err := reqbody.Read(r)
	if errors.Is(err, reqbody.ErrTooLarge) && l.conf.SkipLargeBodies {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	return b, nil
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// headerMap is kong.request.get_headers: lowercase names, one value as a
// string, several as an array.
func headerMap(h http.Header, host string) map[string]any {
	out := make(map[string]any, len(h)+1)
	for k, vs := range h {
		if len(vs) == 1 {
			out[strings.ToLower(k)] = vs[0]
		} else if len(vs) > 1 {
			out[strings.ToLower(k)] = vs
		}
	}
	if _, ok := out["host"]; !ok && host != "" {
		out["host"] = host
	}
	return out
}

// bodyArgs is kong.request.get_body: the arguments of a JSON object, a
// urlencoded form or a multipart form.
func bodyArgs(r *http.Request, body []byte) (map[string]any, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errContentType
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return uriargs.Parse(string(body)).Values(), nil
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("decoding the JSON body: %w", err)
		}
		return out, nil
	case mt == "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(maxMultipartMemory)
		if err != nil {
			return nil, fmt.Errorf("reading the multipart body: %w", err)
		}
		defer func() { _ = form.RemoveAll() }()
		out := map[string]any{}
		for k, vs := range form.Value {
			if len(vs) == 1 {
				out[k] = vs[0]
			} else {
				out[k] = vs
			}
		}
		return out, nil
	}
	return nil, errContentType
}

// gatewayEvent is an API Gateway (REST API) proxy event, as
// request-util.lua's aws_serializer.
func gatewayEvent(pc *plugin.Context, r *http.Request, body []byte, b64 bool, requestID string) map[string]any {
	headers := map[string]any{}
	multiHeaders := map[string]any{}
	for k, vs := range headerMap(r.Header, r.Host) {
		switch v := vs.(type) {
		case string:
			headers[k], multiHeaders[k] = v, []string{v}
		case []string:
			headers[k], multiHeaders[k] = v[0], v
		}
	}
	query := map[string]any{}
	multiQuery := map[string]any{}
	for k, v := range uriargs.Parse(r.URL.RawQuery).Values() {
		switch v := v.(type) {
		case []any:
			query[k], multiQuery[k] = v[0], v
		default:
			query[k], multiQuery[k] = v, []any{v}
		}
	}
	pathParams := map[string]any{}
	for k, v := range pc.Captures {
		if k != "" && (k[0] < '0' || k[0] > '9') {
			pathParams[k] = v
		}
	}
	encoded := string(body)
	isB64 := false
	if len(body) > 0 && b64 {
		encoded, isB64 = base64.StdEncoding.EncodeToString(body), true
	}
	path := r.URL.EscapedPath()
	if pc.UpstreamPath != "" {
		path = pc.UpstreamPath
	}
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	prefix, _, _ := strings.Cut(host, ".")
	resource := ""
	if pc.Route != nil && len(pc.Route.Paths) > 0 {
		resource = pc.Route.Paths[0]
	}
	return map[string]any{
		"version": "1.0", "resource": resource, "path": path, "httpMethod": r.Method,
		"headers": headers, "multiValueHeaders": multiHeaders, "pathParameters": pathParams,
		"queryStringParameters": query, "multiValueQueryStringParameters": multiQuery,
		"body": encoded, "isBase64Encoded": isB64,
		"requestContext": map[string]any{
			"path": path, "protocol": r.Proto, "httpMethod": r.Method, "domainName": host, "domainPrefix": prefix,
			"identity":  map[string]any{"sourceIp": pc.ClientIP, "userAgent": r.Header.Get("User-Agent")},
			"requestId": requestID, "resourcePath": path,
			"requestTime":      pc.Start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			"requestTimeEpoch": pc.Start.UnixMilli(),
		},
	}
}
