package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// TestEntryListsAgreeWithGroups: the prefixes an entry reads back from
// its route (prefixList) are its path group's, normalized, in order, as
// groupPaths splits the route's paths; and its hosts (hostList) are the
// route's parsed. Over random routes mixing prefixes of a few lengths
// (some repeated, some to normalize), regexes and hosts.
func TestEntryListsAgreeWithGroups(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	paths := []string{"/", "/a", "/b", "/ab", "/a%2Fb", "/%61b", "/abc", "/a/b", `~/r\d+`, `~/x/(?<id>\d+)$`, "/a"}
	hosts := []string{"a.test", "B.Test", "*.wild.test", "pre.*", "a.test:8080", "[::1]:9000"}
	for round := range 300 {
		rt := &model.Route{}
		rt.ID = fmt.Sprintf("c0ffee00-0000-4000-a000-%012d", round)
		for range rng.IntN(6) {
			rt.Paths = append(rt.Paths, paths[rng.IntN(len(paths))])
		}
		for range rng.IntN(3) {
			rt.Hosts = append(rt.Hosts, hosts[rng.IntN(len(hosts))])
		}
		var s slab[entry]
		es, err := compileRoute(rt, nil, &s)
		require.NoError(t, err)
		var want [][]string // each group's normalized prefixes, nil for the regex group
		for _, g := range groupPaths(rt.Paths) {
			var ps []string
			for _, p := range g {
				if !isRegex(p) {
					ps = append(ps, Normalize(p))
				}
			}
			want = append(want, ps)
		}
		if len(rt.Paths) == 0 {
			want = [][]string{nil}
		}
		require.Len(t, es, len(want), "paths %q", rt.Paths)
		var wantHosts []hostKey
		for _, h := range rt.Hosts {
			wantHosts = append(wantHosts, parseHostKey(h))
		}
		for i, e := range es {
			require.Equal(t, want[i], slices.Collect(e.prefixList), "paths %q, group %d", rt.Paths, i)
			require.Equal(t, want[i] != nil, e.prefixed, "paths %q, group %d", rt.Paths, i)
			require.Equal(t, wantHosts, slices.Collect(e.hostList), "hosts %q", rt.Hosts)
		}
	}
}
