// Package awslambda is Kong's aws-lambda plugin: the request is not
// proxied but turned into a payload and sent to an AWS Lambda function
// with the Invoke API (the AWS SDK's Lambda client, SigV4-signed with the
// plugin's keys or the data plane's own credentials), and the function's
// result is the answer.
package awslambda

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "aws-lambda"

// ErrNoRegion reports an instance without aws_region on a data plane
// without a Region of its own (Kong's "no region specified"): its
// requests are answered 500.
var ErrNoRegion = errors.New("no region specified")

// Lambda is the handler built for one plugin instance of one snapshot.
type Lambda struct {
	conf    Config
	region  string
	clients *clients
	log     *slog.Logger
}

var (
	_ plugin.Handler  = (*Lambda)(nil)
	_ plugin.Accessor = (*Lambda)(nil)
)

// NewFactory returns the plugin's factory; env is the data plane's AWS
// Region and credentials. log receives invocation failures.
func NewFactory(env AWS, log *slog.Logger) plugin.Factory {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cs := newClients(env)
	return func(penv plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(penv.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building aws-lambda: %w", err)
		}
		region := env.Region
		if c.AWSRegion != nil {
			region = *c.AWSRegion
		}
		return &Lambda{conf: c, region: region, clients: cs, log: log}, nil
	}
}

// Name implements plugin.Handler.
func (l *Lambda) Name() string { return Name }

// Access implements plugin.Accessor, as kong/plugins/aws-lambda/handler.lua.
func (l *Lambda) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if l.region == "" {
		return l.fail("invoking "+aws.ToString(l.conf.FunctionName), ErrNoRegion)
	}
	payload, err := l.payload(pc, r)
	if err != nil {
		return l.fail("building the payload", err)
	}
	client, err := l.clients.get(&l.conf, l.region)
	if err != nil {
		return l.fail("building the Lambda client", err)
	}
	ctx, cancel := invokeContext(r.Context(), &l.conf)
	defer cancel()
	in := &lambda.InvokeInput{FunctionName: l.conf.FunctionName, Qualifier: l.conf.Qualifier, Payload: payload,
		InvocationType: types.InvocationType(l.conf.InvocationType), LogType: types.LogType(l.conf.LogType)}
	out, err := client.Invoke(ctx, in)
	if err != nil {
		return l.fail("invoking "+aws.ToString(l.conf.FunctionName), err)
	}
	h := http.Header{}
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok && raw != nil {
		h = raw.Header.Clone()
	}
	for _, k := range []string{"Content-Length", "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade", "Transfer-Encoding"} {
		delete(h, k)
	}
	status := int(out.StatusCode)
	body := out.Payload
	if l.conf.IsProxyIntegration {
		pr, err := proxyResponse(body)
		if err != nil {
			l.log.Error("aws-lambda: the function's result is not a proxy response", "error", err)
			return badGateway(err)
		}
		status, body = pr.status, pr.body
		for k, vs := range pr.header {
			h[k] = vs
		}
	} else if l.conf.UnhandledStatus != nil && aws.ToString(out.FunctionError) == "Unhandled" {
		status = *l.conf.UnhandledStatus
	}
	// A proxy response's body is text to Kong, left as it is.
	if !l.conf.IsProxyIntegration && l.conf.EmptyArraysMode == "legacy" &&
		jsonType.MatchString(strings.ToLower(h.Get("Content-Type"))) {
		body = legacyEmptyArrays(body)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	return &plugin.Response{Status: status, Header: h, Body: body}
}

var jsonType = regexp.MustCompile(`application/.*json`)

// fail is Kong's error(err) in the access phase: 500, the cause logged.
func (l *Lambda) fail(doing string, err error) *plugin.Response {
	l.log.Error("aws-lambda: "+doing, "error", err)
	return plugin.Error(http.StatusInternalServerError, "")
}

func badGateway(err error) *plugin.Response {
	b, _ := json.Marshal(map[string]string{"message": "Bad Gateway",
		"error": "could not JSON decode Lambda function response: " + err.Error()})
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	return &plugin.Response{Status: http.StatusBadGateway, Header: h, Body: b}
}

type proxyResult struct {
	status int
	header http.Header
	body   []byte
}

// proxyResponse reads an API Gateway proxy response (request-util.lua,
// extract_proxy_response).
func proxyResponse(payload []byte) (*proxyResult, error) {
	var res struct {
		StatusCode        json.RawMessage            `json:"statusCode"`
		Headers           map[string]json.RawMessage `json:"headers"`
		MultiValueHeaders map[string][]string        `json:"multiValueHeaders"`
		Body              *string                    `json:"body"`
		IsBase64Encoded   *bool                      `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(payload, &res); err != nil {
		return nil, err
	}
	status, ok := statusCode(res.StatusCode)
	if !ok {
		return nil, errors.New("statusCode validation failed")
	}
	out := &proxyResult{status: status, header: http.Header{}}
	for k, raw := range res.Headers {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, fmt.Errorf("header %s: %w", k, err)
			}
			s = n.String()
		}
		out.header[k] = []string{s}
	}
	for k, vs := range res.MultiValueHeaders {
		out.header[k] = vs
	}
	if res.Body != nil {
		out.body = []byte(*res.Body)
		if res.IsBase64Encoded != nil && *res.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*res.Body)
			if err != nil {
				return nil, fmt.Errorf("decoding the base64 body: %w", err)
			}
			out.body = b
		}
	}
	if out.body == nil {
		out.body = []byte{}
	}
	return out, nil
}

// statusCode accepts a number or a numeric string between 100 and 599.
func statusCode(raw json.RawMessage) (int, bool) {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 100 || n > 599 {
		return 0, false
	}
	return int(n), true
}

// legacyEmptyArrays re-encodes a JSON body with its empty arrays as {},
// as Kong's empty_arrays_mode "legacy" does; other bodies pass as they
// are.
func legacyEmptyArrays(body []byte) []byte {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if dec.Decode(&v) != nil || dec.More() {
		return body
	}
	changed := false
	v = emptyArraysToObjects(v, &changed)
	if !changed {
		return body
	}
	out, err := encodeJSON(v)
	if err != nil {
		return body
	}
	return out
}

func emptyArraysToObjects(v any, changed *bool) any {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			*changed = true
			return map[string]any{}
		}
		for i := range x {
			x[i] = emptyArraysToObjects(x[i], changed)
		}
	case map[string]any:
		for k := range x {
			x[k] = emptyArraysToObjects(x[k], changed)
		}
	}
	return v
}
