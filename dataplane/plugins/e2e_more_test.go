package plugins_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

// hs256 signs claims with secret, as a client of the jwt plugin would.
func hs256(t *testing.T, claims, secret string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestEndToEndEachPlugin runs each remaining plugin through the real proxy
// and a real upstream: one refused or changed request and one accepted.
func TestEndToEndEachPlugin(t *testing.T) {
	host, port := upstream(t)
	alice := &model.Ref{ID: plugintest.AliceID}
	hash, err := model.HashPassword("open-sesame")
	require.NoError(t, err)
	token := hs256(t, `{"iss":"alice-iss","exp":4102444800}`, "alice-jwt-secret")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:open-sesame"))
	wrongBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:nope"))

	tests := []struct {
		desc    string
		plugins []*model.Plugin
		setup   func(cfg *model.Config)
		refused map[string]string
		wantNo  int
		allowed map[string]string
		check   func(t *testing.T, res *http.Response, body map[string]any)
	}{
		{
			desc:    "basic-auth",
			plugins: []*model.Plugin{plugintest.Plugin(t, "p-basic", "basic-auth", nil)},
			setup: func(cfg *model.Config) {
				cfg.BasicAuths = []*model.BasicAuth{{Base: model.Base{ID: "ba-1"}, Username: "alice", Password: hash, Consumer: alice}}
			},
			refused: map[string]string{"Authorization": wrongBasic}, wantNo: http.StatusUnauthorized,
			allowed: map[string]string{"Authorization": basic},
			check: func(t *testing.T, _ *http.Response, body map[string]any) {
				require.Equal(t, []any{"alice"}, body["headers"].(map[string]any)["X-Consumer-Username"])
			},
		},
		{
			desc:    "jwt",
			plugins: []*model.Plugin{plugintest.Plugin(t, "p-jwt", "jwt", nil)},
			setup: func(cfg *model.Config) {
				cfg.JWTSecrets = []*model.JWTSecret{{Base: model.Base{ID: "jwt-1"}, Key: "alice-iss", Secret: "alice-jwt-secret", Algorithm: "HS256", Consumer: alice}}
			},
			refused: map[string]string{"Authorization": "Bearer " + hs256(t, `{"iss":"alice-iss"}`, "wrong")}, wantNo: http.StatusUnauthorized,
			allowed: map[string]string{"Authorization": "Bearer " + token},
		},
		{
			desc:    "ip-restriction",
			plugins: []*model.Plugin{plugintest.Plugin(t, "p-ip", "ip-restriction", map[string]any{"deny": []any{"127.0.0.1"}})},
			refused: map[string]string{}, wantNo: http.StatusForbidden,
		},
		{
			desc:    "request-termination",
			plugins: []*model.Plugin{plugintest.Plugin(t, "p-term", "request-termination", map[string]any{"status_code": 503, "message": "down for maintenance"})},
			refused: map[string]string{}, wantNo: http.StatusServiceUnavailable,
		},
		{
			desc:    "response-transformer",
			plugins: []*model.Plugin{plugintest.Plugin(t, "p-resp", "response-transformer", map[string]any{"add": map[string]any{"headers": []any{"x-served-by:skyport"}}})},
			allowed: map[string]string{},
			check: func(t *testing.T, res *http.Response, _ map[string]any) {
				require.Equal(t, "skyport", res.Header.Get("X-Served-By"))
			},
		},
		{
			desc:    "correlation-id",
			plugins: []*model.Plugin{plugintest.Plugin(t, "p-corr", "correlation-id", map[string]any{"echo_downstream": true})},
			allowed: map[string]string{},
			check: func(t *testing.T, res *http.Response, body map[string]any) {
				id := res.Header.Get("Kong-Request-Id")
				require.NotEmpty(t, id)
				require.Equal(t, []any{id}, body["headers"].(map[string]any)["Kong-Request-Id"])
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			cfg := snapshot(t, host, port, false)
			cfg.Plugins = tc.plugins
			if tc.setup != nil {
				tc.setup(cfg)
			}
			front := serve(t, cfg)
			if tc.refused != nil {
				res, _ := send(t, front, http.MethodGet, "/api", tc.refused)
				require.Equal(t, tc.wantNo, res.StatusCode)
			}
			if tc.allowed != nil {
				res, body := send(t, front, http.MethodGet, "/api", tc.allowed)
				require.Equal(t, http.StatusOK, res.StatusCode)
				if tc.check != nil {
					tc.check(t, res, body)
				}
			}
		})
	}
}
