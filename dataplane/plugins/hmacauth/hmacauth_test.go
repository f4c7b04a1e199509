package hmacauth_test

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Kong's hmac-sha1
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/hmacauth"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

const secret = "s3cr3t"

func fixture(t *testing.T, cfg map[string]any) *model.Config {
	t.Helper()
	c := plugintest.Fixture()
	c.HMACAuths = []*model.HMACAuth{{Base: model.Base{ID: "cred-1"}, Username: "alice-hmac", Secret: secret,
		Consumer: &model.Ref{ID: plugintest.AliceID}}}
	c.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", hmacauth.Name, cfg)}
	return c
}

var hashes = map[string]func() hash.Hash{"hmac-sha1": sha1.New, "hmac-sha256": sha256.New,
	"hmac-sha384": sha512.New384, "hmac-sha512": sha512.New}

// sign builds the Authorization value a client computes (Kong's
// documented signing string: "name: value" lines joined by newlines).
func sign(t *testing.T, r *http.Request, user, key, alg string, headers ...string) string {
	t.Helper()
	mac := hmac.New(hashes[alg], []byte(key))
	mac.Write([]byte(hmacauth.SigningString(r, headers)))
	return `hmac username="` + user + `", algorithm="` + alg + `", headers="` + strings.Join(headers, " ") +
		`", signature="` + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + `"`
}

func TestSigningString(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/requests?a=1", nil)
	r.Header.Set("Date", "Thu, 22 Jun 2017 17:15:21 GMT")
	r.Header.Set("X-Custom", "v")
	got := hmacauth.SigningString(r, []string{"date", "@request-target", "request-line", "x-custom", "absent"})
	require.Equal(t, "date: Thu, 22 Jun 2017 17:15:21 GMT\n@request-target: post /requests?a=1\n"+
		"POST /requests?a=1 HTTP/1.1\nx-custom: v\nabsent:", got)
}

func TestHMACAuth(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Format(http.TimeFormat)
	old := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		desc    string
		cfg     map[string]any
		prepare func(t *testing.T, r *http.Request)
		wantMsg string // empty when authenticated
	}{
		{desc: "no authorization", wantMsg: "Unauthorized",
			prepare: func(t *testing.T, r *http.Request) { r.Header.Set("Date", now) }},
		{desc: "no date", wantMsg: "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication",
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "@request-target"))
			}},
		{desc: "date beyond the clock skew", wantMsg: "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication",
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Date", old)
				r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "date"))
			}},
		{desc: "x-date rescues an old date",
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Date", old)
				r.Header.Set("X-Date", now)
				r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "x-date", "@request-target"))
			}},
		{desc: "every algorithm: sha1",
			prepare: func(t *testing.T, r *http.Request) { signed(t, r, now, "hmac-sha1") }},
		{desc: "every algorithm: sha384",
			prepare: func(t *testing.T, r *http.Request) { signed(t, r, now, "hmac-sha384") }},
		{desc: "every algorithm: sha512",
			prepare: func(t *testing.T, r *http.Request) { signed(t, r, now, "hmac-sha512") }},
		{desc: "algorithm not accepted", cfg: map[string]any{"algorithms": []any{"hmac-sha512"}}, wantMsg: "HMAC signature cannot be verified",
			prepare: func(t *testing.T, r *http.Request) { signed(t, r, now, "hmac-sha256") }},
		{desc: "wrong secret", wantMsg: "HMAC signature does not match",
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Date", now)
				r.Header.Set("Authorization", sign(t, r, "alice-hmac", "other", "hmac-sha256", "date"))
			}},
		{desc: "unknown user", wantMsg: "HMAC signature cannot be verified",
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Date", now)
				r.Header.Set("Authorization", sign(t, r, "mallory", secret, "hmac-sha256", "date"))
			}},
		{desc: "enforced header not signed", cfg: map[string]any{"enforce_headers": []any{"date", "@request-target"}},
			wantMsg: "HMAC signature cannot be verified",
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Date", now)
				r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "date"))
			}},
		{desc: "enforced headers signed", cfg: map[string]any{"enforce_headers": []any{"date", "@request-target"}},
			prepare: func(t *testing.T, r *http.Request) {
				r.Header.Set("Date", now)
				r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "date", "@request-target"))
			}},
		{desc: "proxy-authorization", prepare: func(t *testing.T, r *http.Request) {
			r.Header.Set("Date", now)
			r.Header.Set("Proxy-Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "date"))
		}},
		{desc: "body digest required and missing", cfg: map[string]any{"validate_request_body": true}, wantMsg: "HMAC signature does not match",
			prepare: func(t *testing.T, r *http.Request) { signed(t, r, now, "hmac-sha256") }},
		{desc: "body digest matches", cfg: map[string]any{"validate_request_body": true},
			prepare: func(t *testing.T, r *http.Request) {
				sum := sha256.Sum256([]byte("payload"))
				r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
				signed(t, r, now, "hmac-sha256")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/orders?x=1", strings.NewReader("payload"))
			tt.prepare(t, r)
			res := plugintest.Run(t, plugintest.Registry(hmacauth.Name, hmacauth.New), fixture(t, tt.cfg), r, nil)
			if tt.wantMsg != "" {
				require.NotNil(t, res.Response)
				require.Equal(t, http.StatusUnauthorized, res.Response.Status)
				require.Equal(t, plugintest.ErrorJSON(tt.wantMsg), string(res.Response.Body))
				require.Equal(t, "hmac", res.Response.Header.Get("WWW-Authenticate"))
				return
			}
			require.Nil(t, res.Response)
			require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
			require.Equal(t, "alice-hmac", r.Header.Get("X-Credential-Identifier"))
		})
	}
}

func signed(t *testing.T, r *http.Request, date, alg string) {
	r.Header.Set("Date", date)
	r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, alg, "date", "@request-target", "request-line"))
}

func TestHideCredentialsAndRealm(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	r.Header.Set("Authorization", sign(t, r, "alice-hmac", secret, "hmac-sha256", "date"))
	res := plugintest.Run(t, plugintest.Registry(hmacauth.Name, hmacauth.New), fixture(t, map[string]any{"hide_credentials": true}), r, nil)
	require.Nil(t, res.Response)
	require.Empty(t, r.Header.Get("Authorization"))

	r = httptest.NewRequest(http.MethodGet, "/", nil)
	res = plugintest.Run(t, plugintest.Registry(hmacauth.Name, hmacauth.New), fixture(t, map[string]any{"realm": "api"}), r, nil)
	require.Equal(t, `hmac realm="api"`, res.Response.Header.Get("WWW-Authenticate"))
}
