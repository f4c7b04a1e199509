package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/imports"
)

type urlPresigner struct{}

func (urlPresigner) PresignPut(_ context.Context, key string, _ time.Duration) (string, error) {
	return "https://uploads.test/" + key + "?signature=x", nil
}

type noLauncher struct{ launched []string }

func (l *noLauncher) Launch(_ context.Context, id string) error {
	l.launched = append(l.launched, id)
	return nil
}

func TestImportJobs(t *testing.T) {
	t.Parallel()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	l := &noLauncher{}
	jobs := imports.NewJobs(imports.Options{Objects: objects, Presigner: urlPresigner{}, Launcher: l})
	c := newClient(t, openEmbedded(t), admin.Options{Imports: jobs})

	job := c.must(http.StatusCreated, http.MethodPost, "/config/imports", map[string]any{})
	id, _ := job["id"].(string)
	require.True(t, imports.ValidID(id), "%v", job)
	require.Equal(t, "awaiting_upload", job["state"])
	upload, _ := job["upload"].(map[string]any)
	require.Equal(t, "PUT", upload["method"])
	require.Equal(t, "https://uploads.test/imports/"+id+"/config?signature=x", upload["url"])

	got := c.must(http.StatusOK, http.MethodGet, "/config/imports/"+id, nil)
	require.Equal(t, "awaiting_upload", got["state"])
	require.Nil(t, got["upload"], "the upload url is shown once")

	r := c.do(http.MethodPost, "/config/imports/"+id+"/start", map[string]any{})
	require.Equal(t, http.StatusConflict, r.status, "%s", r.raw)
	require.Contains(t, r.body["message"], "nothing was uploaded")
	require.Empty(t, l.launched)

	_, err = objects.Put(context.Background(), imports.UploadKey(id), []byte("_format_version: \"3.0\"\n"), objstore.Condition{})
	require.NoError(t, err)
	started := c.must(http.StatusAccepted, http.MethodPost, "/config/imports/"+id+"/start", map[string]any{})
	require.Equal(t, "queued", started["state"])
	require.Equal(t, []string{id}, l.launched)
	r = c.do(http.MethodPost, "/config/imports/"+id+"/start", map[string]any{})
	require.Equal(t, http.StatusConflict, r.status, "%s", r.raw)

	for _, tc := range []struct {
		desc, method, path string
		status             int
	}{
		{"unknown job", http.MethodGet, "/config/imports/00000000-0000-0000-0000-000000000000", http.StatusNotFound},
		{"not an id", http.MethodGet, "/config/imports/..%2f..%2flatest.json", http.StatusNotFound},
		{"start an unknown job", http.MethodPost, "/config/imports/nope/start", http.StatusNotFound},
		{"no listing", http.MethodGet, "/config/imports", http.StatusMethodNotAllowed},
		{"no delete", http.MethodDelete, "/config/imports/" + id, http.StatusMethodNotAllowed},
		{"unknown action", http.MethodPost, "/config/imports/" + id + "/stop", http.StatusNotFound},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := c.do(tc.method, tc.path, nil)
			require.Equal(t, tc.status, r.status, "%s", r.raw)
			require.NotEmpty(t, r.body["message"], "%s", r.raw)
		})
	}

	off := newClient(t, openEmbedded(t), admin.Options{})
	require.Equal(t, http.StatusNotFound, off.do(http.MethodPost, "/config/imports", map[string]any{}).status)
}
