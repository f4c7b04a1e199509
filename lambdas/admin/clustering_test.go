package admin_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
