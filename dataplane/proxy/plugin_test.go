package proxy_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// phases is a plugin that exercises every phase: it refuses requests
// without X-Allow, tags requests and responses, upper-cases bodies and
// records the log phase.
type phases struct {
	mu   sync.Mutex
	logs []int
}

func (*phases) Name() string { return "phases" }

func (*phases) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if r.Header.Get("X-Allow") == "" {
		return plugin.JSONMessage(http.StatusForbidden, "denied")
	}
	r.Header.Set("X-Tagged", "yes")
	if r.URL.Path == "/rewrite" {
		pc.UpstreamPath = "/rewritten"
	}
	return nil
}

func (*phases) Header(_ *plugin.Context, status int, h http.Header) {
	h.Set("X-Phase-Status", http.StatusText(status))
}

func (*phases) NeedsBody(_ *plugin.Context, _ int, h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/json")
}

func (*phases) Body(_ *plugin.Context, _ http.Header, body []byte) []byte {
	return []byte(strings.ToUpper(string(body)))
}

func (p *phases) Log(_ *plugin.Context, e *plugin.LogEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logs = append(p.logs, e.Status)
}

func TestPluginPhases(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	ph := &phases{}
	reg := plugin.NewRegistry()
	reg.Register("phases", func(plugin.Env) (plugin.Handler, error) { return ph, nil })
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
		Plugins:  []*model.Plugin{{Base: model.Base{ID: "p"}, Name: "phases", Enabled: true}},
	}
	_, front := newProxy(t, cfg, func(o *proxy.Options) { o.Registry = reg })

	res, e := get(t, front, "/x")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	// Header and body filters run on a plugin's answer too, as Kong's
	// header_filter and body_filter phases run on kong.response.exit.
	assert.Equal(t, `{"MESSAGE":"DENIED"}`, e.Body)
	assert.Equal(t, "Forbidden", res.Header.Get("X-Phase-Status"), "header filters run on a plugin's answer")
	assert.Zero(t, b.hits.Load())

	res, e = get(t, front, "/x", "X-Allow", "1")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "OK", res.Header.Get("X-Phase-Status"))
	assert.Equal(t, []string{"YES"}, e.Header["X-TAGGED"], "the access phase changed the request, the body filter the response")
	assert.Equal(t, "B", e.Backend)

	_, e = get(t, front, "/rewrite", "X-Allow", "1")
	assert.Equal(t, "/REWRITTEN", e.URI, "a plugin may replace the upstream path")

	// The log phase runs after the response is sent: the client may read
	// the last answer before its log runs.
	logs := func() []int {
		ph.mu.Lock()
		defer ph.mu.Unlock()
		return slices.Clone(ph.logs)
	}
	require.Eventually(t, func() bool { return len(logs()) == 3 }, 30*time.Second, 5*time.Millisecond)
	assert.Equal(t, []int{http.StatusForbidden, http.StatusOK, http.StatusOK}, logs())
}
