package basicauth_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/basicauth"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

const password = "correct horse"

func fixture(t *testing.T, cfg map[string]any) *model.Config {
	t.Helper()
	hash, err := passwordHash()
	require.NoError(t, err)
	c := plugintest.Fixture()
	c.BasicAuths = []*model.BasicAuth{{Base: model.Base{ID: "cred-1"}, Username: "alice-login", Password: hash,
		Consumer: &model.Ref{ID: plugintest.AliceID}},
		// A credential with an empty username (a hand-made snapshot).
		{Base: model.Base{ID: "cred-empty"}, Username: "", Password: hash, Consumer: &model.Ref{ID: plugintest.BobID}}}
	c.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", basicauth.Name, cfg)}
	return c
}

// passwordHash hashes once, at bcrypt's lowest cost, to keep tests fast.
var passwordHash = sync.OnceValues(func() (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	return string(h), err
})

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		header     string
		value      string
		wantStatus int
		wantMsg    string
		hidden     bool
	}{
		{desc: "no credentials", wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "wrong password", header: "Authorization", value: basic("alice-login", "nope"), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "unknown user", header: "Authorization", value: basic("mallory", password), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "not basic", header: "Authorization", value: "Bearer abc", wantStatus: 401, wantMsg: "Unauthorized"},
		// kong/plugins/basic-auth/access.lua matches "([^:]+):(.*)": no
		// username, no credential.
		{desc: "empty username", header: "Authorization", value: basic("", password), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "no colon", header: "Authorization", value: "Basic " + base64.StdEncoding.EncodeToString([]byte("alice-login")), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "valid", header: "Authorization", value: basic("alice-login", password)},
		// kong/plugins/basic-auth/access.lua searches the value for
		// `\s*[Bb]asic\s*(.+)`, ngx.decode_base64 decodes the rest and
		// `([^:]+):(.*)` splits it, none of them anchored.
		{desc: "no space after Basic", header: "Authorization", value: "Basic" + b64("alice-login:"+password)},
		{desc: "spaces after Basic", header: "Authorization", value: "Basic  \t " + b64("alice-login:"+password)},
		{desc: "lowercase basic", header: "Authorization", value: "basic " + b64("alice-login:"+password)},
		{desc: "uppercase BASIC", header: "Authorization", value: "BASIC " + b64("alice-login:"+password), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "text before Basic", header: "Authorization", value: "Token Basic " + b64("alice-login:"+password)},
		{desc: "no padding", header: "Authorization", value: "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice-login:"+password))},
		{desc: "after the padding", header: "Authorization", value: "Basic " + b64("alice-login:"+password) + "!!"},
		{desc: "not base64", header: "Authorization", value: "Basic !" + b64("alice-login:"+password), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "a space inside", header: "Authorization", value: "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice-login:"+password)) + " x", wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "4n+1 characters", header: "Authorization", value: "Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice-login:"+password)) + "A", wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "colons before the username", header: "Authorization", value: "Basic " + b64("::alice-login:"+password)},
		{desc: "only colons and a password", header: "Authorization", value: "Basic " + b64(":"+password), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "password up to a newline", header: "Authorization", value: "Basic " + b64("alice-login:"+password+"\nmore")},
		{desc: "Basic with nothing after", header: "Authorization", value: "Basic", wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "proxy authorization", header: "Proxy-Authorization", value: basic("alice-login", password)},
		{desc: "hidden", cfg: map[string]any{"hide_credentials": true}, header: "Authorization", value: basic("alice-login", password), hidden: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				r.Header.Set(tt.header, tt.value)
			}
			res := plugintest.Run(t, plugintest.Registry(basicauth.Name, basicauth.New), fixture(t, tt.cfg), r, nil)
			if tt.wantStatus != 0 {
				require.NotNil(t, res.Response)
				require.Equal(t, tt.wantStatus, res.Response.Status)
				require.Equal(t, plugintest.ErrorJSON(tt.wantMsg), string(res.Response.Body))
				// kong/plugins/basic-auth/schema.lua: realm defaults to "service".
				require.Equal(t, `Basic realm="service"`, res.Response.Header.Get("WWW-Authenticate"))
				require.NotContains(t, string(res.Response.Body), password)
				return
			}
			require.Nil(t, res.Response)
			require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
			require.Equal(t, "alice-login", r.Header.Get("X-Credential-Identifier"))
			require.Equal(t, tt.hidden, r.Header.Get(tt.header) == "")
		})
	}
}

// TestProxyAuthorizationFirst: Kong tries Proxy-Authorization before
// Authorization (kong/plugins/basic-auth/access.lua), so an Authorization
// header meant for the upstream does not hide the proxy's credentials.
func TestProxyAuthorizationFirst(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer for-the-upstream")
	r.Header.Set("Proxy-Authorization", basic("alice-login", password))
	res := plugintest.Run(t, plugintest.Registry(basicauth.Name, basicauth.New), fixture(t, nil), r, nil)
	require.Nil(t, res.Response)
	require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
	require.Equal(t, "Bearer for-the-upstream", r.Header.Get("Authorization"))
}

// TestProxyAuthorizationThenAuthorization: as Kong's do_authentication,
// Authorization is read only when Proxy-Authorization names no known
// username; a known one with a wrong password is refused, whatever
// Authorization holds.
func TestProxyAuthorizationThenAuthorization(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, proxyAuth string
		ok              bool
	}{
		{desc: "known username, wrong password", proxyAuth: basic("alice-login", "nope")},
		{desc: "unknown username", proxyAuth: basic("mallory", password), ok: true},
		{desc: "not basic", proxyAuth: "Bearer abc", ok: true},
		{desc: "no username", proxyAuth: basic("", password), ok: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Proxy-Authorization", tc.proxyAuth)
			r.Header.Set("Authorization", basic("alice-login", password))
			res := plugintest.Run(t, plugintest.Registry(basicauth.Name, basicauth.New), fixture(t, nil), r, nil)
			if !tc.ok {
				require.NotNil(t, res.Response)
				require.Equal(t, 401, res.Response.Status)
				return
			}
			require.Nil(t, res.Response)
			require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
		})
	}
}

func TestVerificationCached(t *testing.T) {
	t.Parallel()
	cfg := fixture(t, nil)
	set, err := plugin.Build(plugintest.Registry(basicauth.Name, basicauth.New), cfg)
	require.NoError(t, err)
	ok := func(pass string) bool {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", basic("alice-login", pass))
		return plugintest.RunSet(set, cfg, r, nil).Response == nil
	}
	require.True(t, ok(password))
	// The stored hash changes under the running set: only the cached
	// verification can still accept the password, and a wrong one is
	// still refused.
	cfg.BasicAuths[0].Password = "$2a$10$invalidinvalidinvalidinvalidinvalidinvalidinvalidinvali"
	require.True(t, ok(password))
	require.False(t, ok("other"))
}
