package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testList pages through listings with and without filters.
func testList(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	const n = 25
	var svcs []model.Entity
	for i := range n {
		tags := []string{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%3 == 0 {
			tags = append(tags, "three")
		}
		svcs = append(svcs, service(fmt.Sprintf("svc-%02d", i), tags...))
	}
	mustCreate(t, s, svcs...)
	a, b := svcs[0].(*model.Service), svcs[1].(*model.Service)
	var routesOfA []model.Entity
	for i := range 7 {
		routesOfA = append(routesOfA, route(fmt.Sprintf("a-%d", i), a))
	}
	mustCreate(t, s, routesOfA...)
	mustCreate(t, s, route("b-0", b), route("b-1", b))

	count := func(pred func(i int) bool) int {
		c := 0
		for i := range n {
			if pred(i) {
				c++
			}
		}
		return c
	}
	tests := []struct {
		desc string
		kind model.Kind
		opts store.ListOptions
		want int
	}{
		{"everything, default size", model.KindService, store.ListOptions{}, n},
		{"pages of 10", model.KindService, store.ListOptions{Size: 10}, n},
		{"pages of 1", model.KindService, store.ListOptions{Size: 1}, n},
		{"one exact page", model.KindService, store.ListOptions{Size: n}, n},
		{"tag", model.KindService, store.ListOptions{Size: 4, Tags: []string{"even"}}, count(func(i int) bool { return i%2 == 0 })},
		{"tags and", model.KindService, store.ListOptions{Size: 2, Tags: []string{"even", "three"}}, count(func(i int) bool { return i%6 == 0 })},
		{"tags or", model.KindService, store.ListOptions{Size: 3, Tags: []string{"even", "three"}, TagsAny: true}, count(func(i int) bool { return i%2 == 0 || i%3 == 0 })},
		{"unknown tag", model.KindService, store.ListOptions{Tags: []string{"nope"}}, 0},
		{"routes of a service", model.KindRoute, store.ListOptions{Size: 3, Parent: &model.Reference{Field: "service", Kind: model.KindService, ID: a.ID}}, 7},
		{"routes of another service", model.KindRoute, store.ListOptions{Size: 3, Parent: &model.Reference{Field: "service", Kind: model.KindService, ID: b.ID}}, 2},
		{"routes of a service without any", model.KindRoute, store.ListOptions{Parent: &model.Reference{Field: "service", Kind: model.KindService, ID: svcs[2].Meta().ID}}, 0},
		{"empty kind", model.KindConsumer, store.ListOptions{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			var order []string
			opts := tc.opts
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100, "listing does not end")
				page, err := s.List(ctx, tc.kind, opts)
				require.NoError(t, err)
				size := opts.PageSize()
				require.LessOrEqual(t, len(page.Items), size)
				for _, e := range page.Items {
					require.True(t, opts.Matches(e), "entity %s does not match the filter", e.Meta().ID)
					require.False(t, seen[e.Meta().ID], "entity %s listed twice", e.Meta().ID)
					seen[e.Meta().ID] = true
					order = append(order, e.Meta().ID)
				}
				if page.Next == "" {
					break
				}
				require.Len(t, page.Items, size, "only the last page may be short")
				opts.Offset = page.Next
			}
			require.Len(t, seen, tc.want)

			// The order is stable: a second walk in one page gives the same sequence.
			one := tc.opts
			one.Size, one.Offset = 1000, ""
			page, err := s.List(ctx, tc.kind, one)
			require.NoError(t, err)
			var again []string
			for _, e := range page.Items {
				again = append(again, e.Meta().ID)
			}
			require.Equal(t, order, again)
		})
	}

	t.Run("invalid offset", func(t *testing.T) {
		t.Parallel()
		for _, off := range []string{"!!!", "not base64 at all"} {
			_, err := s.List(ctx, model.KindService, store.ListOptions{Offset: off})
			me := requireCode(t, err, model.CodeInvalidOffset)
			require.Contains(t, me.Message, "'"+off+"' is not a valid offset")
		}
	})
}
