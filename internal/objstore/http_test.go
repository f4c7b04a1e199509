package objstore_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// objectServer serves objects below /cp with strong ETags, answering
// If-None-Match with 304 as S3 and CDNs do.
func objectServer(t *testing.T, objects map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, "/cp/")
		body, found := objects[key]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", objstore.ETag([]byte(body)))
		http.ServeContent(w, r, key, time.Time{}, bytes.NewReader([]byte(body)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := objectServer(t, map[string]string{"latest.json": `{"revision":3}`, "snapshots/big": strings.Repeat("x", 100)})
	s, err := objstore.NewHTTP(srv.URL+"/cp/", srv.Client())
	require.NoError(t, err)

	data, etag, err := objstore.GetIfChanged(ctx, s, "latest.json", "", 64)
	require.NoError(t, err)
	require.Equal(t, `{"revision":3}`, string(data))
	require.Equal(t, objstore.ETag(data), etag)
	_, _, err = objstore.GetIfChanged(ctx, s, "latest.json", etag, 64)
	require.ErrorIs(t, err, objstore.ErrNotModified)
	_, _, err = objstore.GetIfChanged(ctx, s, "latest.json", `"other"`, 64)
	require.NoError(t, err, "another etag reads the body")

	_, _, err = s.Get(ctx, "absent.json")
	require.ErrorIs(t, err, objstore.ErrNotFound)
	_, _, err = objstore.GetMax(ctx, s, "snapshots/big", 99)
	require.ErrorIs(t, err, objstore.ErrTooLarge)
	_, _, err = s.Get(ctx, "../secret")
	require.Error(t, err)
	_, err = s.Put(ctx, "latest.json", nil, objstore.Condition{})
	require.ErrorIs(t, err, objstore.ErrReadOnly)
}

func TestNewHTTPRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, url string
		ok        bool
	}{
		{desc: "https", url: "https://d111111abcdef8.cloudfront.net/cp", ok: true},
		{desc: "http on loopback", url: "http://127.0.0.1:9000/cp", ok: true},
		{desc: "http elsewhere", url: "http://snapshots.example.com/cp"},
		{desc: "credentials in the url", url: "https://user:pass@example.com/cp"},
		{desc: "a query", url: "https://example.com/cp?x=1"},
		{desc: "no host", url: "https:///cp"},
		{desc: "another scheme", url: "ftp://example.com/cp"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := objstore.NewHTTP(tt.url, http.DefaultClient)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
