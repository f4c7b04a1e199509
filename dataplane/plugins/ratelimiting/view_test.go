package ratelimiting

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestAccessViewMatchesAccess: on the view (here the view of a net/http
// request; dataplane/proxy compares h1's), the same requests are counted
// under the same identifiers and answered alike: two handlers of one
// configuration, each counting in its own store on one clock, see the
// same requests, one through Access and one through AccessView.
func TestAccessViewMatchesAccess(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 40, 0, time.UTC)
	alice := &model.Consumer{Base: model.Base{ID: "alice"}}
	cred := &model.KeyAuth{Base: model.Base{ID: "cred"}}
	svc := &model.Service{Base: model.Base{ID: "svc"}}
	requests := []struct {
		target, who, ip string
		consumer        bool
	}{
		{"/a%20b", "one", "10.0.0.1", true},
		{"/a%20b", "one", "10.0.0.2", false},
		{"/a b", "two", "10.0.0.1", true},
		{"/c", "", "10.0.0.1", false},
		{"/a%20b?x=1", "one", "10.0.0.1", true},
		{"/c", "two", "10.0.0.2", true},
		{"/a%20b", "one", "10.0.0.1", false},
	}
	for _, conf := range []map[string]any{
		{"minute": 2, "hour": 3},
		{"minute": 2, "limit_by": "ip"},
		{"minute": 2, "limit_by": "header", "header_name": "X-Who"},
		{"minute": 2, "limit_by": "path", "path": "/a b"},
		{"minute": 2, "limit_by": "service", "hide_client_headers": true},
		{"second": 1, "limit_by": "credential", "error_code": 403, "error_message": "no"},
	} {
		cfg := plugintest.Fixture()
		p := plugintest.Plugin(t, "p1", Name, conf)
		var handlers [2]*RateLimiting
		for i := range handlers {
			store := NewStoreClock(func() time.Time { return now })
			h, err := NewFactory(store, Shared{})(plugin.Env{Config: cfg, Plugin: p})
			require.NoError(t, err)
			handlers[i] = h.(*RateLimiting)
			require.True(t, handlers[i].OnView())
		}
		for i, rq := range requests {
			var pcs [2]*plugin.Context
			var answers [2]*plugin.Response
			for j, h := range handlers {
				pc := plugin.NewContext(nil, svc, nil, rq.ip)
				if rq.consumer {
					pc.Consumer, pc.Credential = alice, cred
				}
				var r *http.Request
				if rq.target == "/a b" { // a path net/http's URL holds decoded
					r = httptest.NewRequest(http.MethodGet, "/", nil)
					r.URL.Path = rq.target
				} else {
					r = httptest.NewRequest(http.MethodGet, rq.target, nil)
				}
				if rq.who != "" {
					r.Header.Set("X-Who", rq.who)
				}
				if j == 0 {
					answers[j] = h.Access(pc, r)
				} else {
					answers[j] = h.AccessView(pc, exchange.NewHTTPRequest(r))
				}
				pcs[j] = pc
			}
			require.Equal(t, answers[0], answers[1], "%v, request %d: answer", conf, i)
			var fields [2]http.Header
			for j, h := range handlers {
				fields[j] = http.Header{}
				h.Header(pcs[j], http.StatusOK, fields[j])
			}
			require.Equal(t, fields[0], fields[1], "%v, request %d: fields", conf, i)
			// HeaderView sets, without the map, what Header sets.
			handlers[1].HeaderView(pcs[1], http.StatusOK)
			set := http.Header{}
			for _, f := range pcs[1].ResponseFields() {
				set.Add(f.Name, f.String())
			}
			require.Equal(t, fields[1], set, "%v, request %d: fields set on the view", conf, i)
		}
	}
}
