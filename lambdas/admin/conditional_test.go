package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// hooked is a store whose conditional writes first call a hook with the
// number of the call (1, 2, …): the hook makes the concurrent write of a
// race happen at the worst moment, deterministically. A hook's error is
// returned instead of writing.
type hooked struct {
	store.Store
	onCreate, onUpdate, onDelete func(call int) error
	creates, updates, deletes    atomic.Int64
}

func (s *hooked) Create(ctx context.Context, e model.Entity, o store.Origin) (int64, error) {
	if err := run(s.onCreate, &s.creates); err != nil {
		return 0, err
	}
	return s.Store.Create(ctx, e, o)
}

func (s *hooked) Update(ctx context.Context, e model.Entity, ver store.Version, o store.Origin) (int64, error) {
	if err := run(s.onUpdate, &s.updates); err != nil {
		return 0, err
	}
	return s.Store.Update(ctx, e, ver, o)
}

func (s *hooked) Delete(ctx context.Context, k model.Kind, id string, ver store.Version, o store.Origin) (int64, error) {
	if err := run(s.onDelete, &s.deletes); err != nil {
		return 0, err
	}
	return s.Store.Delete(ctx, k, id, ver, o)
}

func run(hook func(int) error, calls *atomic.Int64) error {
	n := int(calls.Add(1))
	if hook == nil {
		return nil
	}
	return hook(n)
}

// once runs fn on the first call of the hook only.
func once(fn func()) func(int) error {
	var done atomic.Bool
	return func(int) error {
		if done.CompareAndSwap(false, true) {
			fn()
		}
		return nil
	}
}

// TestConditionalWrites makes the concurrent write of each race land
// between the handler's read and its write, on every store.
func TestConditionalWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		fn   func(t *testing.T, c *client, s *hooked)
	}{
		{"patch retried on top of a concurrent patch", testPatchOnTopOfConcurrentPatch},
		{"patch of an entity deleted meanwhile is 404", testPatchOfDeletedEntity},
		{"delete of a credential moved meanwhile", testDeleteOfMovedCredential},
		{"put racing a create of the same name", testPutRacingCreate},
		{"put replaces the version read", testPutOnTopOfConcurrentPatch},
		{"patch racing a declarative load", testPatchRacingConfigLoad},
		{"conflicts in a row give 409", testConflictsInARow},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open := b.start(t)
			for _, tc := range tests {
				t.Run(tc.desc, func(t *testing.T) {
					t.Parallel()
					s := &hooked{Store: open(t)}
					tc.fn(t, newClient(t, s, admin.Options{}), s)
				})
			}
		})
	}
}

func testPatchOnTopOfConcurrentPatch(t *testing.T, c *client, s *hooked) {
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "x", "host": "x.internal"})
	s.onUpdate = once(func() { c.must(http.StatusOK, "PATCH", "/services/x", map[string]any{"retries": 7}) })
	got := c.must(http.StatusOK, "PATCH", "/services/x", map[string]any{"port": 8080})
	require.Equal(t, 8080.0, got["port"])
	require.Equal(t, 7.0, got["retries"], "the retried PATCH applies on top of the one that won")
	stored := c.must(http.StatusOK, "GET", "/services/x", nil)
	require.Equal(t, 8080.0, stored["port"])
	require.Equal(t, 7.0, stored["retries"])
	require.Equal(t, int64(3), s.updates.Load(), "the inner PATCH, the lost attempt, the retry")
}

func testPatchOfDeletedEntity(t *testing.T, c *client, s *hooked) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	cred := c.must(http.StatusCreated, "POST", "/consumers/alice/key-auth", map[string]any{"key": "revoked"})
	path := "/consumers/alice/key-auth/" + cred["id"].(string)
	s.onUpdate = once(func() { c.must(http.StatusNoContent, "DELETE", path, nil) })
	rev := c.revision()
	r := c.do("PATCH", path, map[string]any{"tags": []string{"late"}})
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.raw)
	require.Equal(t, map[string]any{"message": "Not found"}, r.body)
	c.must(http.StatusNotFound, "GET", "/key-auths/revoked", nil)
	require.Equal(t, rev+1, c.revision(), "only the delete was written")
}

func testDeleteOfMovedCredential(t *testing.T, c *client, s *hooked) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	bob := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "bob"})
	c.must(http.StatusCreated, "POST", "/consumers/alice/basic-auth", map[string]any{"username": "shared", "password": "pw"})
	s.onDelete = once(func() {
		c.must(http.StatusOK, "PATCH", "/basic-auths/shared", map[string]any{"consumer": map[string]any{"id": bob["id"]}})
	})
	c.must(http.StatusNoContent, "DELETE", "/consumers/alice/basic-auth/shared", nil)
	moved := c.must(http.StatusOK, "GET", "/consumers/bob/basic-auth/shared", nil)
	require.Equal(t, map[string]any{"id": bob["id"]}, moved["consumer"], "bob's credential is not deleted through alice")
}

func testPutRacingCreate(t *testing.T, c *client, s *hooked) {
	s.onCreate = once(func() {
		c.must(http.StatusOK, "PUT", "/services/racy", map[string]any{"host": "first.internal", "retries": 3})
	})
	got := c.must(http.StatusOK, "PUT", "/services/racy", map[string]any{"host": "second.internal"})
	require.Equal(t, "second.internal", got["host"])
	require.Equal(t, 5.0, got["retries"], "a PUT replaces the whole entity")
	list := c.must(http.StatusOK, "GET", "/services", nil)
	require.Len(t, list["data"], 1)
	require.Equal(t, got["id"], list["data"].([]any)[0].(map[string]any)["id"], "the second PUT replaced the first")
}

func testPutOnTopOfConcurrentPatch(t *testing.T, c *client, s *hooked) {
	created := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "x", "host": "x.internal"})
	s.onUpdate = once(func() { c.must(http.StatusOK, "PATCH", "/services/x", map[string]any{"retries": 7}) })
	got := c.must(http.StatusOK, "PUT", "/services/x", map[string]any{"host": "y.internal"})
	require.Equal(t, created["id"], got["id"])
	require.Equal(t, 5.0, got["retries"], "the PUT replaced the patched entity")
	require.Equal(t, created["created_at"], got["created_at"])
	require.Equal(t, int64(3), s.updates.Load())
}

func testConflictsInARow(t *testing.T, c *client, s *hooked) {
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "x", "host": "x.internal"})
	always := func(int) error { return store.ErrConflict }
	s.onUpdate, s.onDelete = always, always
	rev := c.revision()
	for _, req := range []request{
		{"PATCH", "/services/x", map[string]any{"retries": 1}},
		{"PUT", "/services/x", map[string]any{"host": "y.internal"}},
		{"DELETE", "/services/x", nil},
	} {
		before := s.updates.Load() + s.deletes.Load()
		r := c.do(req.method, req.path, req.body)
		requireCode(t, r, http.StatusConflict, 8)
		require.Equal(t, "database error", r.body["name"])
		require.Contains(t, r.body["message"], "changed by concurrent requests")
		require.Equal(t, int64(10), s.updates.Load()+s.deletes.Load()-before, "%s: attempts", req.method)
	}
	require.Equal(t, rev, c.revision(), "nothing written")
	require.Equal(t, 5.0, c.must(http.StatusOK, "GET", "/services/x", nil)["retries"])
}

func testPatchRacingConfigLoad(t *testing.T, c *client, s *hooked) {
	svc := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "x", "host": "x.internal"})
	load := func(doc string) func() {
		return func() {
			c.must(http.StatusCreated, "POST", "/config", map[string]any{"config": "_format_version: \"3.0\"\n" + doc})
		}
	}
	s.onUpdate = once(load(fmt.Sprintf("services:\n- id: %s\n  name: x\n  host: loaded.internal\n", svc["id"])))
	got := c.must(http.StatusOK, "PATCH", "/services/x", map[string]any{"retries": 2})
	require.Equal(t, "loaded.internal", got["host"], "the PATCH applies on top of the loaded configuration")
	require.Equal(t, 2.0, got["retries"])

	s.onUpdate = once(load("services:\n- name: other\n  host: other.internal\n"))
	c.must(http.StatusNotFound, "PATCH", "/services/x", map[string]any{"retries": 3})
	c.must(http.StatusNotFound, "GET", "/services/x", nil)
	require.Len(t, c.must(http.StatusOK, "GET", "/services", nil)["data"], 1, "the PATCH did not bring x back")
}
