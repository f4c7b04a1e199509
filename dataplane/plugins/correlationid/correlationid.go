// Package correlationid is Kong's correlation-id plugin: every request
// carries a unique id in a header, sent upstream and optionally echoed
// back to the client.
package correlationid

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "correlation-id"

// Config is correlation-id's configuration.
type Config struct {
	// HeaderName carries the id; default Kong-Request-ID.
	HeaderName string `json:"header_name"`
	// Generator is uuid, uuid#counter (default) or tracker.
	Generator string `json:"generator"`
	// EchoDownstream adds the id to the response.
	EchoDownstream bool `json:"echo_downstream"`
}

// CorrelationID is the handler built for one plugin instance of one
// snapshot.
type CorrelationID struct {
	conf    Config
	header  string
	prefix  string
	counter atomic.Uint64
}

var (
	_ plugin.Handler      = (*CorrelationID)(nil)
	_ plugin.Accessor     = (*CorrelationID)(nil)
	_ plugin.HeaderFilter = (*CorrelationID)(nil)
)

// New builds the handler; uuid#counter ids share one uuid per handler,
// as Kong's share one per worker.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building correlation-id: %w", err)
	}
	if c.HeaderName == "" {
		c.HeaderName = "Kong-Request-ID"
	}
	return &CorrelationID{conf: c, header: http.CanonicalHeaderKey(c.HeaderName), prefix: uuid.NewString()}, nil
}

// Name implements plugin.Handler.
func (h *CorrelationID) Name() string { return Name }

// Access implements plugin.Accessor: an id the client sent is kept.
func (h *CorrelationID) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	id := r.Header.Get(h.header)
	if id == "" {
		id = h.generate(r)
		r.Header.Set(h.header, id)
	}
	if h.conf.EchoDownstream {
		pc.SetState(id)
	}
	return nil
}

// Header implements plugin.HeaderFilter.
func (h *CorrelationID) Header(pc *plugin.Context, _ int, out http.Header) {
	if id, ok := pc.State().(string); ok {
		out.Set(h.header, id)
	}
}

func (h *CorrelationID) generate(r *http.Request) string {
	switch h.conf.Generator {
	case "uuid":
		return uuid.NewString()
	case "tracker":
		var b [16]byte
		_, _ = rand.Read(b[:])
		return r.RemoteAddr + "-" + hex.EncodeToString(b[:])
	}
	return h.prefix + "#" + strconv.FormatUint(h.counter.Add(1), 10)
}
