package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/admin/apigw"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// directCase is an API Gateway event and the same request made directly.
type directCase struct {
	desc, file string
	method     string
	target     string
	header     http.Header
	body       string
	// seed runs on both Admin APIs before the request.
	seed func(t *testing.T, h http.Handler)
}

const serviceID = "5b1e3c1a-3d2b-4c8e-9f00-1a2b3c4d5e6f"

func cases() []directCase {
	return []directCase{
		{
			desc: "GET with repeated query keys and cookies", file: "get_repeated_query.json",
			method: "GET", target: "/services?size=2&tags=a&tags=b",
			header: http.Header{"Authorization": {"Bearer test-token"}, "Cookie": {"session=abc123; theme=dark"}},
		},
		{
			desc: "POST JSON under a named stage", file: "post_json.json",
			method: "POST", target: "/services",
			header: http.Header{"Authorization": {"Bearer test-token"}, "Content-Type": {"application/json"}},
			body:   `{"id":"` + serviceID + `","name":"billing","url":"http://billing.internal:8080/v1"}`,
		},
		{
			desc: "POST with a base64 body", file: "post_base64.json",
			method: "POST", target: "/consumers",
			header: http.Header{"Kong-Admin-Token": {"test-token"}, "Content-Type": {"application/json"}},
			body:   `{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","username":"zürich","custom_id":"c-42"}`,
		},
		{
			desc: "POST form", file: "post_form.json",
			method: "POST", target: "/routes",
			header: http.Header{"Authorization": {"Bearer test-token"}, "Content-Type": {"application/x-www-form-urlencoded"}},
			body:   "id=9f3c2b1a-0e4d-4c5b-8a6f-7e8d9c0b1a2f&name=r1&paths%5B%5D=%2Fa&paths%5B%5D=%2Fb&methods=GET&strip_path=false&service.id=" + serviceID,
			seed: func(t *testing.T, h http.Handler) {
				req := httptest.NewRequest("PUT", "/services/"+serviceID, strings.NewReader(`{"host":"billing.internal"}`))
				req.Header.Set("Authorization", "Bearer test-token")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			},
		},
	}
}

func loadEvent(t *testing.T, file string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	var e events.APIGatewayV2HTTPRequest
	require.NoError(t, json.Unmarshal(raw, &e))
	return e
}

// seen is what a handler observes of a request.
type seen struct {
	Method, Path, Query, Body string
	Values                    map[string][]string
	Header                    map[string]string
}

func observe(r *http.Request) seen {
	body, _ := io.ReadAll(r.Body)
	s := seen{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body),
		Values: r.URL.Query(), Header: map[string]string{}}
	for _, h := range []string{"Authorization", "Kong-Admin-Token", "Content-Type", "Cookie"} {
		s.Header[h] = r.Header.Get(h)
	}
	return s
}

func TestRequestConversion(t *testing.T) {
	t.Parallel()
	for _, tc := range cases() {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var direct, viaEvent seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { direct = observe(r) }))
			defer srv.Close()
			req, err := http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			require.NoError(t, err)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()

			h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { viaEvent = observe(r) }))
			_, err = h(context.Background(), loadEvent(t, tc.file))
			require.NoError(t, err)
			require.Equal(t, direct, viaEvent)
		})
	}
}

func newAdmin(t *testing.T) http.Handler {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "cp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return admin.New(admin.Options{
		Store: s, TokenHash: admin.HashToken("test-token"),
		Now: func() time.Time { return time.Unix(1700000000, 0) },
	})
}

func TestAdminThroughEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range cases() {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			viaHTTP, viaLambda := newAdmin(t), newAdmin(t)
			if tc.seed != nil {
				tc.seed(t, viaHTTP)
				tc.seed(t, viaLambda)
			}
			srv := httptest.NewServer(viaHTTP)
			defer srv.Close()
			req, err := http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			require.NoError(t, err)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			want, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Less(t, resp.StatusCode, 300, "%s", want)

			got, err := apigw.Handler(viaLambda)(context.Background(), loadEvent(t, tc.file))
			require.NoError(t, err)
			require.Equal(t, resp.StatusCode, got.StatusCode)
			require.False(t, got.IsBase64Encoded, "JSON answers are text")
			require.JSONEq(t, string(want), got.Body)
			require.Equal(t, resp.Header.Get("Content-Type"), got.Headers["Content-Type"])
		})
	}
}

func TestResponseEncoding(t *testing.T) {
	t.Parallel()
	binary := []byte{0x1f, 0x8b, 0x00, 0xff, 0xfe}
	tests := []struct {
		desc        string
		contentType string
		body        []byte
		base64      bool
	}{
		{"json", "application/json; charset=utf-8", []byte(`{"a":1}`), false},
		{"text", "text/plain", []byte("héllo"), false},
		{"binary", "application/gzip", binary, true},
		{"invalid utf-8 text", "text/plain", binary, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.Header().Add("Set-Cookie", "a=1")
				w.Header().Add("Set-Cookie", "b=2")
				w.Header().Add("Vary", "Origin")
				w.Header().Add("Vary", "Accept")
				w.WriteHeader(http.StatusTeapot)
				_, _ = w.Write(tc.body)
			}))
			resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/"})
			require.NoError(t, err)
			require.Equal(t, http.StatusTeapot, resp.StatusCode)
			require.Equal(t, []string{"a=1", "b=2"}, resp.Cookies)
			require.Equal(t, "Origin,Accept", resp.Headers["Vary"])
			require.Equal(t, tc.base64, resp.IsBase64Encoded)
			body := []byte(resp.Body)
			if tc.base64 {
				body, err = base64.StdEncoding.DecodeString(resp.Body)
				require.NoError(t, err)
			}
			require.Equal(t, tc.body, body)
		})
	}
}

func TestBadEvent(t *testing.T) {
	t.Parallel()
	h := apigw.Handler(http.NotFoundHandler())
	resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/x", Body: "!!", IsBase64Encoded: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestNextLinkKeepsStage(t *testing.T) {
	t.Parallel()
	h := newAdmin(t)
	for _, name := range []string{"a", "b"} {
		req := httptest.NewRequest("PUT", "/services/"+name, strings.NewReader(`{"host":"h"}`))
		req.Header.Set("Authorization", "Bearer test-token")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	page := func(stage, rawPath, query string, header map[string]string) map[string]any {
		e := events.APIGatewayV2HTTPRequest{RawPath: rawPath, RawQueryString: query,
			Headers: map[string]string{"authorization": "Bearer test-token"}}
		for k, v := range header {
			e.Headers[k] = v
		}
		e.RequestContext.Stage = stage
		e.RequestContext.HTTP.Method = "GET"
		resp, err := apigw.Handler(h)(context.Background(), e)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &body))
		return body
	}
	first := page("prod", "/prod/services", "size=1", nil)
	next, _ := first["next"].(string)
	require.True(t, strings.HasPrefix(next, "/prod/services?"), next)
	rawPath, query, _ := strings.Cut(next, "?")
	second := page("prod", rawPath, query, nil)
	require.Len(t, second["data"], 1)
	require.Nil(t, second["next"])

	// On the default stage a client's own prefix header is dropped.
	def := page("$default", "/services", "size=1", map[string]string{"x-forwarded-prefix": "/evil"})
	require.True(t, strings.HasPrefix(def["next"].(string), "/services?"), def["next"])
}
