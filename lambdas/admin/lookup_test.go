package admin_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// listCounter is a store that counts its List calls.
type listCounter struct {
	store.Store
	lists atomic.Int64
}

func (s *listCounter) List(ctx context.Context, k model.Kind, opts store.ListOptions) (store.Page, error) {
	s.lists.Add(1)
	return s.Store.List(ctx, k, opts)
}

// TestNestedLookupByKey: an entity addressed under its parent by a key
// unique across its kind (a route's name), or within the parent in the
// form the store reads by key (a target under its upstream), is read by
// that key, without listing the parent's children, and one of another
// parent is not found under this one.
func TestNestedLookupByKey(t *testing.T) {
	s := &listCounter{Store: openEmbedded(t)}
	c := newClient(t, s, admin.Options{})
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "a.internal"})
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "other", "host": "b.internal"})
	c.must(http.StatusCreated, "POST", "/services/svc/routes", map[string]any{"name": "r1", "paths": []string{"/r1"}})
	c.must(http.StatusCreated, "POST", "/upstreams", map[string]any{"name": "up"})
	c.must(http.StatusCreated, "POST", "/upstreams", map[string]any{"name": "up2"})
	c.must(http.StatusCreated, "POST", "/upstreams/up/targets", map[string]any{"target": "10.0.0.1:8080"})

	before := s.lists.Load()
	c.must(http.StatusOK, "GET", "/services/svc/routes/r1", nil)
	c.must(http.StatusOK, "PATCH", "/services/svc/routes/r1", map[string]any{"paths": []string{"/patched"}})
	c.must(http.StatusOK, "PUT", "/services/svc/routes/r1", map[string]any{"paths": []string{"/put"}})
	c.must(http.StatusNotFound, "GET", "/services/other/routes/r1", nil)
	c.must(http.StatusOK, "GET", "/upstreams/up/targets/10.0.0.1:8080", nil)
	c.must(http.StatusNotFound, "GET", "/upstreams/up2/targets/10.0.0.1:8080", nil)
	c.must(http.StatusOK, "PATCH", "/upstreams/up/targets/10.0.0.1:8080", map[string]any{"weight": 5})
	require.Equal(t, before, s.lists.Load(), "a nested lookup listed the parent's children")

	require.Equal(t, []any{"/put"}, c.must(http.StatusOK, "GET", "/routes/r1", nil)["paths"])
	c.must(http.StatusNoContent, "DELETE", "/services/other/routes/r1", nil)
	c.must(http.StatusOK, "GET", "/routes/r1", nil)
	c.must(http.StatusNoContent, "DELETE", "/upstreams/up2/targets/10.0.0.1:8080", nil)
	c.must(http.StatusOK, "GET", "/upstreams/up/targets/10.0.0.1:8080", nil)
}
