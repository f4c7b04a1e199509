package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// TestRevisionHeader: every write answers with the revision it committed
// (X-Skyport-Revision), so a client can wait for a data plane to run it;
// a write that committed nothing names the current revision, and a
// refused one none.
func TestRevisionHeader(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{})
	const doc = "_format_version: \"3.0\"\nservices:\n- name: loaded\n  host: loaded.internal\n"
	tests := []struct {
		desc   string
		method string
		path   string
		body   any
		status int
		want   string // the header; "" when absent
	}{
		{"create", "POST", "/services", map[string]any{"name": "s", "host": "s.internal"}, http.StatusCreated, "1"},
		{"nested create", "POST", "/services/s/routes", map[string]any{"name": "r", "paths": []string{"/r"}}, http.StatusCreated, "2"},
		{"upsert by name", "PUT", "/services/t", map[string]any{"host": "t.internal"}, http.StatusOK, "3"},
		{"patch", "PATCH", "/services/s", map[string]any{"retries": 2}, http.StatusOK, "4"},
		{"patch through a foreign key", "PATCH", "/routes/r/service", map[string]any{"retries": 3}, http.StatusOK, "5"},
		{"delete", "DELETE", "/services/t", nil, http.StatusNoContent, "6"},
		{"delete of an absent entity", "DELETE", "/services/t", nil, http.StatusNoContent, "6"},
		{"delete of an absent id", "DELETE", "/services/00000000-0000-4000-a000-000000000000", nil, http.StatusNoContent, "6"},
		{"refused write", "POST", "/services", map[string]any{"name": "s", "host": "dup.internal"}, http.StatusConflict, ""},
		{"method not allowed", "DELETE", "/routes/r/service", nil, http.StatusMethodNotAllowed, ""},
		{"declarative load", "POST", "/config", formBody{contentType: "application/x-yaml", data: doc}, http.StatusCreated, "7"},
		{"unchanged load", "POST", "/config?check_hash=1", formBody{contentType: "application/x-yaml", data: doc}, http.StatusNotModified, "7"},
		{"read", "GET", "/services", nil, http.StatusOK, ""},
	}
	// Not parallel: each row commits on top of the one before.
	for _, tt := range tests {
		r := c.do(tt.method, tt.path, tt.body)
		require.Equal(t, tt.status, r.status, "%s: %s", tt.desc, r.raw)
		require.Equal(t, tt.want, r.header.Get(admin.HeaderRevision), tt.desc)
	}
}

// racing is a store on which another client writes right after each
// Create commits, before the handler answers.
type racing struct {
	store.Store
	n atomic.Int64
}

func (s *racing) Create(ctx context.Context, e model.Entity, o store.Origin) (int64, error) {
	rev, err := s.Store.Create(ctx, e, o)
	if err == nil {
		name := fmt.Sprintf("concurrent-%d", s.n.Add(1))
		_, err = s.Store.Create(ctx, &model.Consumer{Base: model.Base{ID: uuid.NewString()}, Username: &name}, store.Origin{})
	}
	return rev, err
}

// TestRevisionHeaderIsTheCommittedOne: the header names the revision the
// request committed, not a later one another client committed meanwhile.
func TestRevisionHeaderIsTheCommittedOne(t *testing.T) {
	t.Parallel()
	s := &racing{Store: openEmbedded(t)}
	srv := httptest.NewServer(admin.New(admin.Options{Store: s, Now: func() time.Time { return fixedNow }}))
	t.Cleanup(srv.Close)
	for i, want := range []string{"1", "3"} {
		resp, err := http.Post(srv.URL+"/services", "application/json",
			strings.NewReader(fmt.Sprintf(`{"name":"s%d","host":"s.internal"}`, i)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, want, resp.Header.Get(admin.HeaderRevision))
	}
	rev, err := s.Revision(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(4), rev, "the concurrent writes committed after each request's own")
}
