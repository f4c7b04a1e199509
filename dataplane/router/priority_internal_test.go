package router

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// TestPriority checks priority against the values Kong 3.9.3's get_priority
// (kong/router/transform.lua) produces under LuaJIT, where the weight, the
// header count and regex_priority are shifted in 32 bits: plain hosts and
// regex flags above, the rest ORed in the low word. The overflow rows are
// Skyport's choice where Kong's result depends on LuaJIT's interpreter or
// JIT: above every other route, as both do on x86-64.
func TestPriority(t *testing.T) {
	t.Parallel()

	many := map[string][]string{}
	for i := range 300 {
		many["h"+strings.Repeat("x", i)] = []string{"v"}
	}
	testCases := []struct {
		desc  string
		route func(r *model.Route)
		want  uint64
	}{
		{"plain host", func(r *model.Route) { r.Hosts = []string{"a.com"} }, 0x1000_0000_2000_0000},
		{"host with port is plain", func(r *model.Route) { r.Hosts = []string{"a.com:9000"} }, 0x1000_0000_2000_0000},
		{"method and prefix", func(r *model.Route) { r.Methods = []string{"GET"}; r.Paths = []string{"/users"} }, 0x4000_0006},
		{"wildcard host and method", func(r *model.Route) { r.Hosts = []string{"*.a.com"}; r.Methods = []string{"GET"} }, 0x4000_0000},
		{"regex_priority 1", func(r *model.Route) { r.Paths = []string{"~/x"}; r.RegexPriority = 1 }, 0x0008_0000_2008_0000},
		{"regex_priority ORed with the header count", func(r *model.Route) {
			r.Paths = []string{"~/x"}
			r.RegexPriority = 2
			r.Headers = map[string][]string{"a": {"b"}}
		}, 0x0008_0000_4010_0000},
		{"regex_priority wraps at 2^13", func(r *model.Route) { r.Paths = []string{"~/x"}; r.RegexPriority = 8192 }, 0x0008_0000_2000_0000},
		{"header count capped at 255", func(r *model.Route) { r.Headers = many }, 0x2ff0_0000},
		{"prefix length masked to 19 bits", func(r *model.Route) { r.Paths = []string{"/" + strings.Repeat("a", 0x8_0000)} }, 0x2000_0001},
		{"plain host, method and regex", func(r *model.Route) {
			r.Hosts = []string{"a.com"}
			r.Methods = []string{"GET"}
			r.Paths = []string{"~/x"}
			r.RegexPriority = 7
		}, 0x1008_0000_6038_0000},
		{"overflow: negative regex_priority", func(r *model.Route) { r.Paths = []string{"~/x"}; r.RegexPriority = -1 }, 0x8008_0000_fff8_0000},
		{"overflow: four fields", func(r *model.Route) {
			r.Methods = []string{"GET"}
			r.Hosts = []string{"a.com"}
			r.Paths = []string{"/abc"}
			r.Headers = map[string][]string{"a": {"b"}}
		}, 0x9000_0000_8010_0004},
	}
	for _, test := range testCases {
		t.Run(test.desc, func(t *testing.T) {
			t.Parallel()
			r := model.NewRoute()
			r.ID = "r"
			test.route(r)
			es, err := compileRoute(r, nil, nil)
			require.NoError(t, err)
			require.Len(t, es, 1)
			assert.Equal(t, test.want, es[0].priority, "got %#x", es[0].priority)
		})
	}
}
