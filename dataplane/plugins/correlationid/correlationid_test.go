package correlationid_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
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
		{desc: "tracker", cfg: map[string]any{"generator": "tracker"}, header: "Kong-Request-ID", match: regexp.MustCompile(`^192\.0\.2\.1:1234-[0-9a-f]{32}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", correlationid.Name, tt.cfg)}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.incoming != "" {
				r.Header.Set(tt.header, tt.incoming)
			}
			res := plugintest.Run(t, plugintest.Registry(correlationid.Name, correlationid.New), cfg, r, nil)
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
