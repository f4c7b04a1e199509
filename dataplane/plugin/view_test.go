package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
)

// viewRecorder is a recorder whose access phase also runs on the view,
// when on is set.
type viewRecorder struct {
	recorder
	on bool
}

func (h *viewRecorder) OnView() bool { return h.on }

func (h *viewRecorder) AccessView(pc *plugin.Context, _ exchange.Request) *plugin.Response {
	return h.Access(pc, nil)
}

// loggingViewRecorder is a viewRecorder with a log phase, which reads the
// adapted request.
type loggingViewRecorder struct{ viewRecorder }

func (h *loggingViewRecorder) Log(*plugin.Context, *plugin.LogEntry) {}

// TestOnView: a request is served on the view only when every plugin that
// may apply to it (its route's and service's, and the consumer-scoped
// ones authentication could select) runs there; AccessView then runs the
// same instances in the same order as Access.
func TestOnView(t *testing.T) {
	t.Parallel()
	reg := plugin.NewRegistry()
	for _, n := range []string{"key-auth", "rate-limiting", "cors", "http-log", "acl"} {
		reg.Register(n, func(env plugin.Env) (plugin.Handler, error) {
			rec := recorder{name: n, id: env.Plugin.ID}
			if n == "key-auth" {
				rec.authenticate = alice
			}
			switch {
			case n == "cors":
				return &rec, nil
			case n == "http-log":
				return &loggingViewRecorder{viewRecorder{recorder: rec, on: true}}, nil
			}
			return &viewRecorder{recorder: rec, on: n != "acl"}, nil
		})
	}
	auth := scoped("auth", "key-auth", "", "", "")
	limit := scoped("limit", "rate-limiting", routeID, "", "")
	tests := []struct {
		desc    string
		plugins []*model.Plugin
		want    bool
	}{
		{"none", nil, true},
		{"view plugins", []*model.Plugin{auth, limit, scoped("limit-alice", "rate-limiting", "", "", consumerID)}, true},
		{"another route's plugin", []*model.Plugin{auth, scoped("cors", "cors", "r2", "", "")}, true},
		{"a plugin without a view phase", []*model.Plugin{auth, scoped("cors", "cors", "", serviceID, "")}, false},
		{"a consumer's plugin without a view phase", []*model.Plugin{auth, scoped("cors", "cors", "r2", "", consumerID)}, false},
		{"a view plugin configured off it", []*model.Plugin{auth, scoped("acl", "acl", routeID, "", "")}, false},
		{"another route's instance off it", []*model.Plugin{auth, limit, scoped("acl", "acl", "r2", "", "")}, true},
		{"a logger", []*model.Plugin{auth, scoped("log", "http-log", "", "", "")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			set, err := plugin.Build(reg, &model.Config{Plugins: tc.plugins})
			require.NoError(t, err)
			ctx := func() *plugin.Context {
				return plugin.NewContext(&model.Route{Base: model.Base{ID: routeID}},
					&model.Service{Base: model.Base{ID: serviceID}}, nil, "127.0.0.1")
			}
			require.Equal(t, tc.want, set.OnView(ctx()))
			if !tc.want {
				return
			}
			pc, vc := ctx(), ctx()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			require.Nil(t, set.Access(pc, r))
			require.Nil(t, set.AccessView(vc, exchange.NewHTTPRequest(r)))
			require.Equal(t, pc.Var("trace"), vc.Var("trace"))
			require.Equal(t, set.Resolved(pc), set.Resolved(vc))
		})
	}
}
