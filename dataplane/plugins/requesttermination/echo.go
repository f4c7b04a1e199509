package requesttermination

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
	"github.com/skyport-gw/skyport/dataplane/router"
)

// echoDoc is the document echo answers with, in Kong's shape
// (kong/plugins/request-termination/handler.lua).
type echoDoc struct {
	Message        *string     `json:"message,omitempty"`
	Kong           echoKong    `json:"kong"`
	Request        echoRequest `json:"request"`
	MatchedRoute   any         `json:"matched_route,omitempty"`
	MatchedService any         `json:"matched_service,omitempty"`
}

// echoKong describes the node; Kong's node_id is left out.
type echoKong struct {
	WorkerPID int    `json:"worker_pid"`
	Hostname  string `json:"hostname,omitempty"`
}

type echoRequest struct {
	Scheme      string         `json:"scheme"`
	Host        string         `json:"host"`
	Port        int            `json:"port"`
	Headers     map[string]any `json:"headers"`
	Query       map[string]any `json:"query"`
	Body        any            `json:"body,omitempty"`
	RawBody     *string        `json:"raw_body,omitempty"`
	Method      string         `json:"method"`
	Path        string         `json:"path"`
	URICaptures echoCaptures   `json:"uri_captures"`
}

type echoCaptures struct {
	Named   map[string]string `json:"named"`
	Unnamed []string          `json:"unnamed"`
}

// echo describes the request back to the caller: kong.request's view of
// it (host without port, the port it came to, headers and query as
// tables, the parsed and the raw body, the normalized path, the regex
// captures) and the route and service matched.
func (t *Terminator) echo(pc *plugin.Context, r *http.Request) *plugin.Response {
	doc := echoDoc{Message: t.conf.Message, Kong: echoKong{WorkerPID: os.Getpid()}}
	if doc.Message == nil {
		if m, ok := defaultMessages[t.conf.StatusCode]; ok {
			doc.Message = &m
		}
	}
	doc.Kong.Hostname, _ = os.Hostname()
	req := &doc.Request
	req.Scheme = "http"
	if r.TLS != nil {
		req.Scheme = "https"
	}
	req.Host, req.Port = hostPort(r)
	req.Headers = headers(r)
	req.Query = uriargs.Parse(r.URL.RawQuery).Values()
	req.Method = r.Method
	req.Path = router.Normalize(r.URL.EscapedPath())
	if raw, err := reqbody.Read(r); err == nil {
		s := string(raw)
		req.RawBody = &s
		req.Body = parsedBody(r, raw)
	}
	req.URICaptures = captures(pc.Captures)
	if pc.Route != nil {
		doc.MatchedRoute = pc.Route
	}
	if pc.Service != nil {
		doc.MatchedService = pc.Service
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return plugin.ErrorPage(http.StatusInternalServerError, "")
	}
	h := http.Header{}
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	return &plugin.Response{Status: t.conf.StatusCode, Header: h, Body: bytes.TrimSuffix(b.Bytes(), []byte("\n"))}
}

// hostPort is nginx's $host (lowercase, without port) and $server_port.
func hostPort(r *http.Request) (string, int) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	port := 0
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			port, _ = strconv.Atoi(p)
		}
	}
	return host, port
}

// headers are the request's header fields as kong.request.get_headers
// has them: lowercase names, Host among them, a repeated field as a list.
func headers(r *http.Request) map[string]any {
	out := make(map[string]any, len(r.Header)+2)
	for k, vs := range r.Header {
		if len(vs) == 1 {
			out[strings.ToLower(k)] = vs[0]
			continue
		}
		out[strings.ToLower(k)] = vs
	}
	if r.Host != "" {
		out["host"] = r.Host
	}
	if len(r.TransferEncoding) > 0 {
		out["transfer-encoding"] = strings.Join(r.TransferEncoding, ", ")
	}
	return out
}

// parsedBody is kong.request.get_body: a JSON, form or multipart body
// decoded, nil for another or an invalid one.
func parsedBody(r *http.Request, raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	switch reqbody.KindOf(r) {
	case reqbody.JSON:
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return nil
		}
		return v
	case reqbody.Form:
		return uriargs.Parse(string(raw)).Values()
	case reqbody.Multipart:
		if m, ok := reqbody.ReadParts(r); ok {
			return m.Values()
		}
	}
	return nil
}

// captures splits the router's captures into Kong's named and unnamed
// (numbered from 1; the whole match is left out).
func captures(c map[string]string) echoCaptures {
	out := echoCaptures{Named: map[string]string{}, Unnamed: []string{}}
	for i := 1; ; i++ {
		v, ok := c[strconv.Itoa(i)]
		if !ok {
			break
		}
		out.Unnamed = append(out.Unnamed, v)
	}
	for k, v := range c {
		if _, err := strconv.Atoi(k); err != nil {
			out.Named[k] = v
		}
	}
	return out
}
