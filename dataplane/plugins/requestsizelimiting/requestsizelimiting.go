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

	"github.com/skyport-gw/skyport/dataplane/exchange"
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
	_ plugin.Handler      = (*Limiter)(nil)
	_ plugin.Accessor     = (*Limiter)(nil)
	_ plugin.ViewAccessor = (*Limiter)(nil)
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
	resp, stream := decide(l, r.ContentLength, httpRequest{r})
	if stream && r.Body != nil && r.Body != http.NoBody {
		r.Body = &limitedBody{rc: r.Body, left: l.limit}
	}
	return resp
}

// OnView implements plugin.ViewAccessor: a declared size is read from
// the view. The proxy serves only requests without a body on the view
// (a streamed one, measured as it is read, takes the adapter), so
// AccessView never has a body to measure.
func (l *Limiter) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor.
func (l *Limiter) AccessView(_ *plugin.Context, r exchange.Request) *plugin.Response {
	resp, _ := decide(l, r.ContentLength(), viewRequest{r.Header()})
	return resp
}

// decide is both access phases' decision for a request whose body is of
// length n (-1 unknown): an answer, or whether the body must be measured
// as it streams.
func decide[R request](l *Limiter, n int64, r R) (*plugin.Response, bool) {
	switch {
	case n > l.limit:
		if r.expectsContinue() {
			return plugin.Error(http.StatusExpectationFailed, msgTooLarge), false
		}
		return plugin.Error(http.StatusRequestEntityTooLarge, msgTooLarge), false
	case n >= 0:
		if n == 0 && l.requireLength && !r.hasLength() {
			return plugin.Error(http.StatusLengthRequired, msgLengthRequired), false
		}
		return nil, false
	case l.requireLength && !r.chunked():
		return plugin.Error(http.StatusLengthRequired, msgLengthRequired), false
	}
	return nil, true
}

// request is what decide reads of a request: the adapted one or the
// view.
type request interface {
	// expectsContinue reports an "Expect: 100-continue" request (Kong
	// compares the lowercased, trimmed value).
	expectsContinue() bool
	// hasLength reports a Content-Length field.
	hasLength() bool
	// chunked reports a body sent with "Transfer-Encoding: chunked".
	chunked() bool
}

type httpRequest struct{ r *http.Request }

func (h httpRequest) expectsContinue() bool {
	vs := h.r.Header["Expect"]
	return len(vs) > 0 && continues(vs[0])
}

func (h httpRequest) hasLength() bool { return len(h.r.Header["Content-Length"]) > 0 }

// chunked: net/http moves the field out of the header into
// TransferEncoding.
func (h httpRequest) chunked() bool {
	return slices.Contains(h.r.TransferEncoding, "chunked") || slices.Contains(h.r.Header["Transfer-Encoding"], "chunked")
}

type viewRequest struct{ h exchange.Header }

func (v viewRequest) expectsContinue() bool {
	e := v.h.Get("Expect")
	return e != nil && continues(string(e))
}

func (v viewRequest) hasLength() bool { return v.h.Get("Content-Length") != nil }

func (v viewRequest) chunked() bool {
	found := false
	v.h.Values("Transfer-Encoding", func(value []byte) bool {
		found = string(value) == "chunked"
		return !found
	})
	return found
}

func continues(expect string) bool {
	return strings.EqualFold(strings.TrimSpace(expect), "100-continue")
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
