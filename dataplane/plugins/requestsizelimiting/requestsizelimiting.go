// Package requestsizelimiting is Kong's request-size-limiting plugin: it
// refuses requests whose body is larger than allowed, by Content-Length or,
// for chunked bodies, while they stream.
package requestsizelimiting

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "request-size-limiting"

// Kong's messages.
const (
	msgTooLarge       = "Request size limit exceeded"
	msgLengthRequired = "A valid Content-Length header is required"
)

// ErrTooLarge is returned by the body reader of a streamed request once it
// exceeds the limit; the proxy's upstream write fails with it.
var ErrTooLarge = plugin.ErrBodyTooLarge

// Config is request-size-limiting's configuration.
type Config struct {
	// AllowedPayloadSize in SizeUnit; default 128.
	AllowedPayloadSize int64 `json:"allowed_payload_size"`
	// SizeUnit is megabytes (default), kilobytes or bytes.
	SizeUnit string `json:"size_unit"`
	// RequireContentLength refuses requests without a Content-Length.
	RequireContentLength bool `json:"require_content_length"`
}

// Limiter is the handler built for one plugin instance of one snapshot.
type Limiter struct {
	limit         int64
	requireLength bool
}

var (
	_ plugin.Handler  = (*Limiter)(nil)
	_ plugin.Accessor = (*Limiter)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building request-size-limiting: %w", err)
	}
	unit := int64(1 << 20)
	switch c.SizeUnit {
	case "kilobytes":
		unit = 1 << 10
	case "bytes":
		unit = 1
	}
	return &Limiter{limit: c.AllowedPayloadSize * unit, requireLength: c.RequireContentLength}, nil
}

// Name implements plugin.Handler.
func (l *Limiter) Name() string { return Name }

// Access implements plugin.Accessor, as kong/plugins/request-size-limiting/handler.lua:
// a declared size is checked at once (417 instead of 413 when the client
// waits for "100 Continue", which it then never gets); a body without
// one is refused with 411 when require_content_length is set, unless it
// is chunked: a chunked body is measured as it streams.
func (l *Limiter) Access(_ *plugin.Context, r *http.Request) *plugin.Response {
	switch {
	case r.ContentLength > l.limit:
		if expectsContinue(r) {
			return plugin.Error(http.StatusExpectationFailed, msgTooLarge)
		}
		return plugin.Error(http.StatusRequestEntityTooLarge, msgTooLarge)
	case r.ContentLength >= 0:
		if r.ContentLength == 0 && l.requireLength && len(r.Header["Content-Length"]) == 0 {
			return plugin.Error(http.StatusLengthRequired, msgLengthRequired)
		}
		return nil
	case l.requireLength && !chunked(r):
		return plugin.Error(http.StatusLengthRequired, msgLengthRequired)
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &limitedBody{rc: r.Body, left: l.limit}
	}
	return nil
}

// expectsContinue reports an "Expect: 100-continue" request (Kong
// compares the lowercased, trimmed value).
func expectsContinue(r *http.Request) bool {
	vs := r.Header["Expect"]
	return len(vs) > 0 && strings.EqualFold(strings.TrimSpace(vs[0]), "100-continue")
}

// chunked reports a body sent with "Transfer-Encoding: chunked" (which
// net/http moves out of the header into TransferEncoding).
func chunked(r *http.Request) bool {
	return slices.Contains(r.TransferEncoding, "chunked") || slices.Contains(r.Header["Transfer-Encoding"], "chunked")
}

// limitedBody fails a streamed body once it passes the limit.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
