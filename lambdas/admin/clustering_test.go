package admin_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// TestClusteringPages: GET /clustering/data-planes pages like every Kong
// collection (kong/api/routes/clustering.lua uses the collection
// endpoint): size (default 100, at most 1000), an opaque offset, next; a
// bad size is code 9 and a bad offset code 7. /clustering/status still
// lists every data plane.
func TestClusteringPages(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour).Unix()
	var nodes []cluster.Node
	for i := range 250 {
		nodes = append(nodes, cluster.Node{NodeID: fmt.Sprintf("dp-%03d", i), ExpiresAt: exp})
	}
	c := newClient(t, openEmbedded(t), admin.Options{DataPlanes: registryWith(t, nodes...)})

	r := c.do("GET", "/clustering/data-planes", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.body["data"], 100, "default page size")

	var ids []string
	path, pages := "/clustering/data-planes?size=60", 0
	for {
		r := c.do("GET", path, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		pages++
		for _, dp := range r.body["data"].([]any) {
			ids = append(ids, dp.(map[string]any)["id"].(string))
		}
		if r.body["next"] == nil {
			require.NotContains(t, r.body, "offset")
			break
		}
		require.NotEmpty(t, r.body["offset"])
		next := r.body["next"].(string)
		require.Contains(t, next, "size=60")
		require.Contains(t, next, "offset=")
		path = next
	}
	require.Equal(t, 5, pages)
	require.Len(t, ids, 250)
	for i, id := range ids {
		require.Equal(t, fmt.Sprintf("dp-%03d", i), id)
	}

	for _, bad := range []string{"size=0", "size=1001", "size=ten"} {
		requireCode(t, c.do("GET", "/clustering/data-planes?"+bad, nil), http.StatusBadRequest, 9)
	}
	requireCode(t, c.do("GET", "/clustering/data-planes?offset=%25%25", nil), http.StatusBadRequest, 7)

	r = c.do("GET", "/clustering/status", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.body, 250)
	require.Equal(t, "true", r.header.Get("Deprecation"))
}

// TestClusteringFiltersAndSummary: /clustering/data-planes filters by
// sync_status and labels (the next link keeps them), a data plane not
// heard from for three heartbeats is stale whatever it last reported, and
// /clustering/summary counts the rows by revision, status, state and
// version.
func TestClusteringFiltersAndSummary(t *testing.T) {
	t.Parallel()
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	var nodes []cluster.Node
	for i := range 30 {
		n := cluster.Node{NodeID: fmt.Sprintf("dp-%02d", i), ExpiresAt: exp, LastSeen: now.Unix(), Revision: 7,
			State: protocol.StateApplied, Version: "3.9.3", Labels: map[string]string{"region": "eu"}}
		switch {
		case i%3 == 0:
			n.Labels = map[string]string{"region": "us", "tier": "edge"}
		case i == 1:
			n.LastSeen = now.Add(-cluster.DefaultStaleAfter - time.Minute).Unix()
			n.Revision = 5
		case i == 2:
			n.State, n.Error, n.Revision, n.Version = protocol.StateRejected, "bad", 6, "3.9.2"
		}
		nodes = append(nodes, n)
	}
	c := newClient(t, openEmbedded(t), admin.Options{DataPlanes: registryWith(t, nodes...)})

	ids := func(path string) []string {
		var out []string
		for path != "" {
			r := c.do("GET", path, nil)
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			for _, dp := range r.body["data"].([]any) {
				out = append(out, dp.(map[string]any)["id"].(string))
			}
			path = ""
			if next, ok := r.body["next"].(string); ok {
				path = next
			}
		}
		return out
	}
	tests := []struct {
		desc  string
		query string
		want  int
		first string
	}{
		{desc: "stale", query: "sync_status=stale", want: 1, first: "dp-01"},
		{desc: "unknown (rejected, not a Kong incompatibility)", query: "sync_status=unknown", want: 1, first: "dp-02"},
		{desc: "normal, paged by 4", query: "sync_status=normal&size=4", want: 28, first: "dp-00"},
		{desc: "one label", query: "labels=region:us&size=3", want: 10, first: "dp-00"},
		{desc: "two labels", query: "labels=region:us,tier:edge", want: 10, first: "dp-00"},
		{desc: "label and status", query: "labels=region:eu&sync_status=normal", want: 18, first: "dp-04"},
		{desc: "no match", query: "labels=region:ap", want: 0},
	}
	for _, tt := range tests {
		got := ids("/clustering/data-planes?" + tt.query)
		require.Len(t, got, tt.want, tt.desc)
		if tt.want > 0 {
			require.Equal(t, tt.first, got[0], tt.desc)
		}
	}
	requireCode(t, c.do("GET", "/clustering/data-planes?sync_status=dead", nil), http.StatusBadRequest, 2)
	requireCode(t, c.do("GET", "/clustering/data-planes?labels=region", nil), http.StatusBadRequest, 2)

	r := c.do("GET", "/clustering/summary", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.JSONEq(t, `{"total":30,
		"by_revision":{"7":28,"6":1,"5":1},
		"by_sync_status":{"normal":28,"unknown":1,"stale":1},
		"by_state":{"applied":29,"rejected":1},
		"by_version":{"3.9.3":29,"3.9.2":1}}`, string(r.raw))
	r = c.do("GET", "/clustering/summary?labels=region:us", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.EqualValues(t, 10, r.body["total"])
}
