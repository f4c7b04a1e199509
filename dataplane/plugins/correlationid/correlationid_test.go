package correlationid_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/correlationid"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

var (
	uuidRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	counterRE = regexp.MustCompile(`^[0-9a-f-]{36}#(\d+)$`)
)

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		cfg      map[string]any
		incoming string
		header   string
		match    *regexp.Regexp
		echoed   bool
	}{
		{desc: "default uuid#counter", header: "Kong-Request-ID", match: counterRE},
		{desc: "uuid echoed", cfg: map[string]any{"generator": "uuid", "echo_downstream": true, "header_name": "X-Req"}, header: "X-Req", match: uuidRE, echoed: true},
		{desc: "client id kept", cfg: map[string]any{"echo_downstream": true}, incoming: "abc", header: "Kong-Request-ID", match: regexp.MustCompile(`^abc$`), echoed: true},
		// kong/plugins/correlation-id/handler.lua: server address and port,
		// pid, connection serial, requests on it, seconds.milliseconds
		// (spec/03-plugins/11-correlation-id/01-access_spec.lua's
		// TRACKER_PATTERN).
		{desc: "tracker", cfg: map[string]any{"generator": "tracker"}, header: "Kong-Request-ID",
			match: regexp.MustCompile(`^192\.0\.2\.1-9080-` + strconv.Itoa(os.Getpid()) + `-7-3-\d{10}\.\d{3}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", correlationid.Name, tt.cfg)}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey,
				&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 9080}))
			if tt.incoming != "" {
				r.Header.Set(tt.header, tt.incoming)
			}
			res := plugintest.Run(t, plugintest.Registry(correlationid.Name, correlationid.New), cfg, r, nil,
				plugintest.WithConnection(7, 3))
			require.Nil(t, res.Response)
			id := r.Header.Get(tt.header)
			require.Regexp(t, tt.match, id)
			if tt.echoed {
				require.Equal(t, id, res.Header.Get(tt.header))
			} else {
				require.Empty(t, res.Header.Get(tt.header))
			}
		})
	}
}

func TestCounterIncreases(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", correlationid.Name, nil)}
	set, err := plugin.Build(plugintest.Registry(correlationid.Name, correlationid.New), cfg)
	require.NoError(t, err)
	var ids []string
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		plugintest.RunSet(set, cfg, r, nil)
		ids = append(ids, counterRE.FindStringSubmatch(r.Header.Get("Kong-Request-ID"))[1])
	}
	require.Equal(t, []string{"1", "2"}, ids)
}

// TestEchoWithoutAccess: the header filter of a correlation-id whose
// access phase did not run (a response given before it) echoes the
// request's id, or a new one, as kong/plugins/correlation-id/handler.lua's
// header_filter does.
func TestEchoWithoutAccess(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", correlationid.Name, map[string]any{"echo_downstream": true, "generator": "uuid"})}
	set, err := plugin.Build(plugintest.Registry(correlationid.Name, correlationid.New), cfg)
	require.NoError(t, err)
	for _, incoming := range []string{"from-client", ""} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if incoming != "" {
			r.Header.Set("Kong-Request-ID", incoming)
		}
		pc := plugin.NewContext(nil, nil, nil, "192.0.2.1")
		set.Globals(pc, r)
		h := http.Header{}
		set.Header(pc, http.StatusNotFound, h)
		if incoming != "" {
			require.Equal(t, incoming, h.Get("Kong-Request-ID"))
		} else {
			require.Regexp(t, uuidRE, h.Get("Kong-Request-ID"))
		}
	}
}

// TestUnwritableHeaderName: a header_name that frames the message or the
// connection, Host, or no field name at all is accepted (Kong's schema
// takes any string) but never written, in the request or the echoed
// response; the id is still made for the loggers.
func TestUnwritableHeaderName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		written bool
	}{
		{"X-Req", true},
		{"Content-Length", false},
		{"transfer-encoding", false},
		{"Connection", false},
		{"Keep-Alive", false},
		{"TE", false},
		{"Trailer", false},
		{"Upgrade", false},
		{"Host", false},
		{"Bad Name", false},
		{"X-A:b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, !tc.written, correlationid.Unwritable(http.CanonicalHeaderKey(tc.name)))
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", correlationid.Name,
				map[string]any{"header_name": tc.name, "echo_downstream": true})}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			res := plugintest.Run(t, plugintest.Registry(correlationid.Name, correlationid.New), cfg, r, nil)
			require.Nil(t, res.Response)
			id, _ := res.Context.Var(plugin.VarCorrelationID).(string)
			require.Regexp(t, counterRE, id)
			if tc.written {
				require.Equal(t, id, r.Header.Get(tc.name))
				require.Equal(t, id, res.Header.Get(tc.name))
				return
			}
			require.Empty(t, r.Header.Values(tc.name))
			require.Empty(t, res.Header.Values(tc.name))
		})
	}
}
