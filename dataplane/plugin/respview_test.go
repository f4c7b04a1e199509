package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
)

// upstreamFields are an upstream response's fields in order
// (plugin.UpstreamFields), a dropped one with an empty name.
type upstreamFields [][2]string

func (u upstreamFields) Len() int { return len(u) }

func (u upstreamFields) At(i int) (name, value []byte) {
	if u[i][0] == "" {
		return nil, nil
	}
	return []byte(u[i][0]), []byte(u[i][1])
}

// TestResponseView: reads through ResponseView see the upstream's fields
// with the changes made so far, as http.Header's Get, Values and Has see
// the map after the same Set, Add and Del.
func TestResponseView(t *testing.T) {
	t.Parallel()
	upstream := upstreamFields{{"Vary", "Accept"}, {"x-up", "1"}, {"", "dropped"}, {"X-Up", "1b"}, {"X-Empty", ""}}
	type op struct{ kind, name, value string }
	for _, tc := range []struct {
		desc string
		ops  []op
	}{
		{"none", nil},
		{"set", []op{{"set", "x-up", "2"}}},
		{"add after the upstream's", []op{{"add", "X-Up", "2"}}},
		{"add to an absent name", []op{{"add", "X-New", "1"}, {"add", "x-new", "2"}}},
		{"delete", []op{{"del", "X-Up", ""}}},
		{"delete then add", []op{{"del", "x-up", ""}, {"add", "X-Up", "3"}}},
		{"set then add", []op{{"set", "Vary", "Origin"}, {"add", "Vary", "Cookie"}}},
		{"add then set", []op{{"add", "Vary", "Origin"}, {"set", "Vary", "Cookie"}}},
		{"delete an empty field", []op{{"del", "X-Empty", ""}}},
		{"set a number", []op{{"num", "X-Count", "7"}, {"add", "X-Count", "8"}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			want := http.Header{}
			for _, kv := range upstream {
				if kv[0] != "" {
					want.Add(kv[0], kv[1])
				}
			}
			pc := plugin.NewContext(nil, nil, nil, "")
			pc.SetUpstreamFields(upstream)
			got := pc.ResponseView()
			for _, o := range tc.ops {
				switch o.kind {
				case "set":
					want.Set(o.name, o.value)
					got.Set(o.name, o.value)
				case "num":
					want.Set(o.name, o.value)
					pc.SetResponseFieldInt(o.name, 7)
				case "add":
					want.Add(o.name, o.value)
					got.Add(o.name, o.value)
				case "del":
					want.Del(o.name)
					got.Del(o.name)
				}
			}
			for _, name := range []string{"vary", "X-Up", "x-new", "X-Empty", "X-Count", "X-Absent", ""} {
				require.Equal(t, want.Values(name), got.Values(name), name)
				require.Equal(t, want.Get(name), got.Get(name), name)
				require.Equal(t, len(want.Values(name)) > 0, got.Has(name), name)
			}
		})
	}
}

// responseViewer is a fieldSetter with a body filter that says per
// instance whether its response phases run on the view.
type responseViewer struct {
	bodySetter
	on bool
}

func (h *responseViewer) ResponseOnView() bool { return h.on }

// TestHeadersOnViewResponseViewer: a body filter that is a
// ResponseViewer keeps the response on the view when its instance says
// so, and only then.
func TestHeadersOnViewResponseViewer(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		reg := plugin.NewRegistry()
		reg.Register("response-transformer", func(plugin.Env) (plugin.Handler, error) {
			return &responseViewer{bodySetter{fieldSetter{headerRecorder{"response-transformer"}, nil}}, on}, nil
		})
		set, err := plugin.Build(reg, &model.Config{Plugins: []*model.Plugin{scoped("a", "response-transformer", "", "", "")}})
		require.NoError(t, err)
		pc := plugin.NewContext(&model.Route{Base: model.Base{ID: routeID}}, nil, nil, "127.0.0.1")
		require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil)))
		require.Equal(t, on, set.HeadersOnView(pc))
	}
}
