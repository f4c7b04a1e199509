package requesttermination_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/requesttermination"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestRequestTermination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		target     string
		header     string
		passes     bool
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{desc: "default", wantStatus: 503, wantType: "application/json; charset=utf-8", wantBody: `{"message":"Service unavailable"}`},
		{desc: "message", cfg: map[string]any{"status_code": 403, "message": "closed"}, wantStatus: 403, wantBody: `{"message":"closed"}`},
		{desc: "raw body", cfg: map[string]any{"status_code": 200, "body": "<h1>hi</h1>", "content_type": "text/html"},
			wantStatus: 200, wantType: "text/html", wantBody: "<h1>hi</h1>"},
		{desc: "trigger absent", cfg: map[string]any{"trigger": "x-stop"}, passes: true},
		{desc: "trigger header", cfg: map[string]any{"trigger": "x-stop"}, header: "X-Stop", wantStatus: 503},
		{desc: "trigger query", cfg: map[string]any{"trigger": "x-stop"}, target: "/?x-stop=1", wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttermination.Name, tt.cfg)}
			target := tt.target
			if target == "" {
				target = "/"
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			if tt.header != "" {
				r.Header.Set(tt.header, "1")
			}
			res := plugintest.Run(t, plugintest.Registry(requesttermination.Name, requesttermination.New), cfg, r, nil)
			if tt.passes {
				require.Nil(t, res.Response)
				return
			}
			require.NotNil(t, res.Response)
			require.Equal(t, tt.wantStatus, res.Response.Status)
			if tt.wantType != "" {
				require.Equal(t, tt.wantType, res.Response.Header.Get("Content-Type"))
			}
			if tt.wantBody != "" {
				require.Equal(t, tt.wantBody, string(res.Response.Body[:len(tt.wantBody)]))
			}
		})
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttermination.Name, map[string]any{"echo": true, "status_code": 200})}
	r := httptest.NewRequest(http.MethodGet, "/x?a=1", nil)
	r.Header.Set("X-Probe", "yes")
	res := plugintest.Run(t, plugintest.Registry(requesttermination.Name, requesttermination.New), cfg, r, nil)
	require.NotNil(t, res.Response)
	var doc struct {
		Request struct {
			Method  string            `json:"method"`
			Path    string            `json:"path"`
			Query   map[string]string `json:"query"`
			Headers map[string]string `json:"headers"`
		} `json:"request"`
		Route struct {
			ID string `json:"id"`
		} `json:"matched_route"`
	}
	require.NoError(t, json.Unmarshal(res.Response.Body, &doc))
	require.Equal(t, "GET", doc.Request.Method)
	require.Equal(t, "/x", doc.Request.Path)
	require.Equal(t, "1", doc.Request.Query["a"])
	require.Equal(t, "yes", doc.Request.Headers["x-probe"])
	require.Equal(t, plugintest.RouteID, doc.Route.ID)
}
