package router_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestNewRefuses(t *testing.T) {
	t.Parallel()

	testCases := []struct {
		desc  string
		route *model.Route
		err   error
	}{
		{
			desc:  "invalid path regex",
			route: rt("bad-path", 1, func(r *model.Route) { r.Paths = []string{"~/users/(\\d+"} }),
			err:   router.ErrInvalidRegex,
		},
		{
			desc:  "regex that only compiles once wrapped",
			route: rt("unbalanced", 1, func(r *model.Route) { r.Paths = []string{"~/a)(b"} }),
			err:   router.ErrInvalidRegex,
		},
		{
			desc: "invalid header regex",
			route: rt("bad-header", 1, func(r *model.Route) {
				r.Headers = map[string][]string{"x-v": {"~*[a-"}}
			}),
			err: router.ErrInvalidRegex,
		},
		{
			desc:  "unknown service",
			route: rt("orphan", 1, func(r *model.Route) { r.Service = &model.Ref{ID: "missing"} }),
			err:   router.ErrUnknownService,
		},
	}

	for _, test := range testCases {
		t.Run(test.desc, func(t *testing.T) {
			t.Parallel()

			r, err := router.New([]*model.Route{test.route}, []*model.Service{service("svc", true)})
			require.ErrorIs(t, err, test.err)
			assert.Nil(t, r)
			assert.Contains(t, err.Error(), *test.route.Name)
			assert.Contains(t, err.Error(), test.route.ID)
		})
	}
}

func TestNewSplitsPathGroups(t *testing.T) {
	t.Parallel()

	routes := []*model.Route{
		rt("single", 1, func(r *model.Route) { r.Paths = []string{"/a", "/b"} }),
		rt("split", 2, func(r *model.Route) { r.Paths = []string{"/a", "/bb", "~/c", "~/d"} }),
		rt("none", 3, nil),
		rt("off", 4, func(r *model.Route) { r.Service = &model.Ref{ID: "off"} }),
	}
	r, err := router.New(routes, []*model.Service{service("svc", true), service("off", false)})
	require.NoError(t, err)
	assert.Equal(t, 1+3+1, r.Len())
}

func TestMatchWithoutService(t *testing.T) {
	t.Parallel()

	route := rt("bare", 1, func(r *model.Route) { r.Service = nil; r.Paths = []string{"/"} })
	r, err := router.New([]*model.Route{route}, nil)
	require.NoError(t, err)

	m := r.Match(get("", "/x"))
	require.NotNil(t, m)
	assert.Same(t, route, m.Route)
	assert.Nil(t, m.Service)
}

func TestMatchConcurrent(t *testing.T) {
	t.Parallel()

	routes := []*model.Route{
		rt("api", 1, func(r *model.Route) { r.Hosts = []string{"example.com"}; r.Paths = []string{"/api"} }),
		rt("user", 2, func(r *model.Route) { r.Paths = []string{`~/users/(?<id>\d+)`} }),
	}
	r, err := router.New(routes, []*model.Service{service("svc", true)})
	require.NoError(t, err)

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				in := get("example.com", "/api/x")
				if i%2 == 1 {
					in = get("", fmt.Sprintf("/users/%d", i))
				}
				m := r.Match(in)
				if assert.NotNil(t, m) && i%2 == 1 {
					assert.Equal(t, strconv.Itoa(i), m.Captures["id"])
				}
			}
		})
	}
	wg.Wait()
}
