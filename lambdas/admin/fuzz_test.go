package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// FuzzHandler sends random requests: the handler never answers 5xx, and a
// request answered 4xx leaves the revision where it was.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method      uint8
		path, body  string
		contentType string
	}{
		{1, "/services", `{"name":"s","host":"h"}`, "application/json"},
		{1, "/services/s/routes", `{"name":"r","paths":["/"]}`, "application/json"},
		{2, "/consumers/alice", `{}`, "application/json"},
		{1, "/consumers/alice/key-auth", `{"key":"k"}`, "application/json"},
		{3, "/services/s", `{"port":"x"}`, "application/json"},
		{3, "/services/s", `{"url":"https://a:1/b"}`, "application/json"},
		{4, "/services/s", ``, ""},
		{0, "/services?size=0&offset=@@", ``, ""},
		{1, "/upstreams", "name=u&healthchecks.active.timeout=x&slots[2]=1", "application/x-www-form-urlencoded"},
		{1, "/plugins", "name=rate-limiting&config.minute=5", "application/x-www-form-urlencoded"},
		{1, "/config", "_format_version: \"3.0\"\nservices:\n- name: x\n  host: y\n", "application/yaml"},
		{1, "/certificates", `{"cert":"x","key":"y","snis":["a.b","a.b"]}`, "application/json"},
		{0, "/schemas/plugins/key-auth", ``, ""},
		{1, "/schemas/routes/validate", `{"paths":[1]}`, "application/json"},
		{3, "/routes/r/service", `{"retries":-1}`, "application/json"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body, s.contentType)
	}
	st, err := embedded.Open(f.TempDir() + "/cp.db")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	h := admin.New(admin.Options{Store: st, Now: func() time.Time { return fixedNow }})
	f.Fuzz(func(t *testing.T, method uint8, path, body, contentType string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(context.Background(),
			fuzzMethods[int(method)%len(fuzzMethods)], "http://admin"+path, strings.NewReader(body))
		if err != nil {
			t.Skip("not a valid request target")
		}
		req.Header.Set("Content-Type", contentType)
		before, err := st.Revision(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", req.Method, path, body, rec.Code, rec.Body)
		}
		after, err := st.Revision(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code >= 400 && after != before {
			t.Fatalf("%s %s %q answered %d but moved the revision %d -> %d", req.Method, path, body, rec.Code, before, after)
		}
	})
}
