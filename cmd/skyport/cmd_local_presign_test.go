package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/imports"
)

func TestLocalPresigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	_, err = objects.Put(ctx, "snapshots/1.json.gz", []byte("snapshot one"), objstore.Condition{})
	require.NoError(t, err)
	_, err = objects.Put(ctx, "latest.json", []byte("{}"), objstore.Condition{})
	require.NoError(t, err)

	var p *localPresigner
	srv := httptest.NewServer(clusterHandler(http.NotFoundHandler(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	p = newLocalPresigner(srv.URL, objects)
	// A fixed clock: the subtests may wait for a CPU longer than any
	// expiry, and a URL must not expire while they do.
	now := time.Unix(1700000000, 0)
	p.now = func() time.Time { return now }

	presign := func(key string, ttl time.Duration) string {
		u, err := p.PresignGet(ctx, key, ttl)
		require.NoError(t, err)
		return u
	}
	tests := []struct {
		desc   string
		url    string
		status int
		body   string
	}{
		{desc: "valid", url: presign("snapshots/1.json.gz", time.Minute), status: http.StatusOK, body: "snapshot one"},
		{desc: "absent snapshot", url: presign("snapshots/2.json.gz", time.Minute), status: http.StatusNotFound},
		{desc: "expired", url: presign("snapshots/1.json.gz", -time.Second), status: http.StatusForbidden},
		{desc: "valid to the second", url: presign("snapshots/1.json.gz", 0), status: http.StatusOK, body: "snapshot one"},
		{desc: "tampered key", url: strings.Replace(presign("snapshots/2.json.gz", time.Minute), "2.json", "1.json", 1), status: http.StatusForbidden},
		{desc: "no signature", url: srv.URL + snapshotPath + "snapshots/1.json.gz", status: http.StatusForbidden},
		{desc: "not a snapshot path", url: srv.URL + "/other", status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			resp, err := http.Get(tt.url)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode)
			if tt.body != "" {
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, tt.body, string(b))
			}
		})
	}
	_, err = p.PresignGet(ctx, "latest.json", time.Minute)
	require.Error(t, err, "only snapshots are presigned")
}

// TestLocalPresignedUpload: an import's upload URL takes a PUT of that
// key only, before it expires, and a GET URL's signature uploads nothing.
func TestLocalPresignedUpload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	var p *localPresigner
	srv := httptest.NewServer(clusterHandler(http.NotFoundHandler(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	p = newLocalPresigner(srv.URL, objects)
	now := time.Unix(1700000000, 0)
	p.now = func() time.Time { return now }
	const id = "0b0b5c3e-1111-4a4a-9c9c-2d2d2d2d2d2d"
	key := imports.UploadKey(id)
	presign := func(key string, ttl time.Duration) string {
		u, err := p.PresignPut(ctx, key, ttl)
		require.NoError(t, err)
		return u
	}
	get, err := p.PresignGet(ctx, "snapshots/1.json.gz", time.Minute)
	require.NoError(t, err)
	for _, tc := range []struct {
		desc, method, url string
		status            int
	}{
		{desc: "expired", method: http.MethodPut, url: presign(key, -time.Second), status: http.StatusForbidden},
		{desc: "another job's key", method: http.MethodPut, url: strings.Replace(presign(key, time.Minute), "0b0b", "0c0c", 1), status: http.StatusForbidden},
		{desc: "a GET signature", method: http.MethodPut, url: strings.Replace(get, snapshotPath+"snapshots/1.json.gz", uploadPath+key, 1), status: http.StatusForbidden},
		{desc: "GET of an upload URL", method: http.MethodGet, url: presign(key, time.Minute), status: http.StatusMethodNotAllowed},
		{desc: "valid", method: http.MethodPut, url: presign(key, time.Minute), status: http.StatusOK},
	} {
		req, err := http.NewRequest(tc.method, tc.url, strings.NewReader("_format_version: \"3.0\"\n"))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode, tc.desc)
	}
	data, _, err := objects.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "_format_version: \"3.0\"\n", string(data))
	_, err = p.PresignPut(ctx, "latest.json", time.Minute)
	require.Error(t, err, "only import uploads are presigned for a PUT")
}
