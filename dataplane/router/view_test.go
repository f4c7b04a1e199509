package router_test

import (
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

// inputView is an Input seen through the protocol-neutral view, its
// fields in h1's header list (Host among them, as h1 keeps it).
type inputView struct {
	method, host, path []byte
	header             *h1.Header
	tls                *tls.ConnectionState
}

func newInputView(in *router.Input) *inputView {
	v := &inputView{method: []byte(in.Method), host: []byte(in.Host), path: []byte(in.Path), header: &h1.Header{}}
	if in.Host != "" {
		v.header.Add("host", in.Host)
	}
	names := make([]string, 0, len(in.Header))
	for name := range in.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, value := range in.Header[name] {
			v.header.Add(name, value)
		}
	}
	if in.TLS {
		v.tls = &tls.ConnectionState{ServerName: in.SNI}
	}
	return v
}

func (v *inputView) Method() []byte             { return v.method }
func (v *inputView) Host() []byte               { return v.host }
func (v *inputView) Path() []byte               { return v.path }
func (v *inputView) Query() []byte              { return nil }
func (v *inputView) Proto() string              { return "HTTP/1.1" }
func (v *inputView) Header() exchange.Header    { return v.header }
func (v *inputView) Trailer() exchange.Header   { return &h1.Header{} }
func (v *inputView) ContentLength() int64       { return 0 }
func (v *inputView) Body() io.Reader            { return http0{} }
func (v *inputView) ClientAddr() netip.AddrPort { return netip.AddrPort{} }
func (v *inputView) TLS() *tls.ConnectionState  { return v.tls }

type http0 struct{}

func (http0) Read([]byte) (int, error) { return 0, io.EOF }

// match is r.Match(in), checked against MatchInto and MatchRequest on
// the view of in, which must answer the same.
func match(t testing.TB, r *router.Router, in *router.Input) *router.Match {
	t.Helper()
	m := r.Match(in)
	var into, viewed router.Match
	ok := r.MatchInto(in, &into)
	require.Equal(t, m != nil, ok, "MatchInto for %+v", in)
	v := newInputView(in)
	okView := r.MatchRequest(v, in.Port, &viewed)
	require.Equal(t, m != nil, okView, "MatchRequest for %+v", in)
	if m != nil {
		require.Equal(t, fields(m), fields(&into), "MatchInto for %+v", in)
		require.Equal(t, fields(m), fields(&viewed), "MatchRequest for %+v", in)
		// The match keeps none of the view's bytes.
		for i := range v.path {
			v.path[i] = '#'
		}
		require.Equal(t, m.Path, viewed.Path, "the match's path is its own")
		require.Equal(t, m.Prefix, viewed.Prefix, "the match's prefix is its own")
		require.Equal(t, m.Captures, viewed.Captures, "the match's captures are their own")
	}
	return m
}

// fields are a Match's exported fields (its path copy left out).
func fields(m *router.Match) []any {
	return []any{m.Route, m.Service, m.Path, m.Prefix, m.Captures}
}

// TestMatchRequestAllocs: matching a prefix route on the view allocates
// nothing: the path's copy is held in the Match, up to 64 bytes.
func TestMatchRequestAllocs(t *testing.T) {
	r, err := router.New(benchRoutes(1000), []*model.Service{service("svc", true)})
	require.NoError(t, err)
	for _, tc := range []struct {
		in   *router.Input
		want float64
	}{
		{&router.Input{Method: "GET", Host: "API998.example.com", Path: "/", Port: 9080}, 0},
		{&router.Input{Method: "GET", Host: "api998.example.com", Path: "/resource3/items/1", Port: 9080}, 0},
		{&router.Input{Method: "GET", Host: "api998.example.com", Path: "/resource3/" + strings.Repeat("x", 64), Port: 9080}, 1},
		{&router.Input{Method: "GET", Host: "x.Tenant3.example.com:9080", Path: "/", Port: 9080}, 0},
	} {
		v := newInputView(tc.in)
		var m router.Match
		got := testing.AllocsPerRun(100, func() {
			if !r.MatchRequest(v, tc.in.Port, &m) {
				t.Fatalf("no match for %+v", tc.in)
			}
		})
		require.Equal(t, tc.want, got, "%+v", tc.in)
	}
}

// TestMatchRequestAgrees: over the random routers of
// TestUpdateMatchesNew, every request is answered on the view as Match
// answers it.
func TestMatchRequestAgrees(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		g := &routeGen{rng: rand.New(rand.NewPCG(seed, 11))}
		services, routes := g.initial()
		for range 5 {
			r, err := router.New(routes, services)
			require.NoError(t, err)
			inputs := g.inputs()
			for i := range inputs {
				match(t, r, &inputs[i])
			}
			services, routes = g.change(services, routes)
		}
	}
}

// TestMatchPathFedBack: a Match's path (held in the Match itself) given
// as the next request's path, matched into the same Match, keeps its
// bytes: the answer is written over the Match without clearing the copy
// the request reads.
func TestMatchPathFedBack(t *testing.T) {
	t.Parallel()
	r, err := router.New(benchRoutes(1000), []*model.Service{service("svc", true)})
	require.NoError(t, err)
	in := &router.Input{Method: "GET", Host: "api998.example.com", Path: "/resource3/items/1", Port: 9080}
	var m router.Match
	require.True(t, r.MatchRequest(newInputView(in), in.Port, &m))
	want := []any{m.Route, m.Service, strings.Clone(m.Path), strings.Clone(m.Prefix), m.Captures}
	again := *in
	again.Path = m.Path
	require.True(t, r.MatchInto(&again, &m))
	require.Equal(t, want, fields(&m))
	require.True(t, r.MatchRequest(newInputView(&again), in.Port, &m))
	require.Equal(t, want, fields(&m))
}
