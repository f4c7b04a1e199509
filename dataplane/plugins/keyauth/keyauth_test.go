package keyauth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/keyauth"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

const secretKey = "s3cr3t-key"

func config(t *testing.T, cfg map[string]any) *model.Config {
	c := plugintest.Fixture()
	c.KeyAuths = []*model.KeyAuth{
		{Base: model.Base{ID: "cred-alice"}, Key: secretKey, Consumer: &model.Ref{ID: plugintest.AliceID}},
		// A credential with an empty key (a hand-made snapshot): never
		// matched by a missing or empty key.
		{Base: model.Base{ID: "cred-empty"}, Key: "", Consumer: &model.Ref{ID: plugintest.BobID}},
		{Base: model.Base{ID: "cred-old", CreatedAt: time.Now().Add(-time.Hour).Unix()}, Key: "expired", TTL: new(60), Consumer: &model.Ref{ID: plugintest.BobID}},
		{Base: model.Base{ID: "cred-ttl", CreatedAt: time.Now().Unix()}, Key: "fresh", TTL: new(3600), Consumer: &model.Ref{ID: plugintest.BobID}},
	}
	c.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", keyauth.Name, cfg)}
	return c
}

func TestKeyAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		req        func() *http.Request
		wantStatus int
		wantMsg    string
		// wantChallenge is the WWW-Authenticate of a 401; default "Key"
		// (kong/plugins/key-auth/handler.lua: no realm unless configured).
		wantChallenge string
		check         func(t *testing.T, r *http.Request, res plugintest.Result)
	}{
		{desc: "no key", req: get("/"), wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "wrong key", req: withHeader("apikey", "nope"), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "expired key", req: withHeader("apikey", "expired"), wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "key within its ttl", req: withHeader("apikey", "fresh"), check: func(t *testing.T, _ *http.Request, res plugintest.Result) {
			require.Nil(t, res.Response)
			require.Equal(t, plugintest.BobID, res.Context.Consumer.ID)
		}},
		// kong/plugins/key-auth/handler.lua: `if not key or key == ""` is
		// "No API key found", whatever credentials exist.
		{desc: "empty key with an empty-key credential", req: withHeader("apikey", ""), wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "empty query key with an empty-key credential", req: get("/?apikey="), wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "duplicate key", req: get("/?apikey=a&apikey=b"), wantStatus: 401, wantMsg: "Duplicate API key found"},
		{desc: "key in header", req: withHeader("apikey", secretKey), check: func(t *testing.T, r *http.Request, res plugintest.Result) {
			require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
			require.Equal(t, plugintest.AliceID, r.Header.Get("X-Consumer-ID"))
			require.Equal(t, "alice", r.Header.Get("X-Consumer-Username"))
			require.Equal(t, "a-1", r.Header.Get("X-Consumer-Custom-ID"))
			require.Equal(t, "cred-alice", r.Header.Get("X-Credential-Identifier"))
			require.Equal(t, secretKey, r.Header.Get("apikey"), "kept without hide_credentials")
		}},
		{desc: "key in query hidden", cfg: map[string]any{"hide_credentials": true}, req: get("/?apikey=" + secretKey + "&x=1"),
			check: func(t *testing.T, r *http.Request, res plugintest.Result) {
				require.Equal(t, "x=1", r.URL.RawQuery)
				require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
			}},
		{desc: "header hidden", cfg: map[string]any{"hide_credentials": true}, req: withHeader("apikey", secretKey),
			check: func(t *testing.T, r *http.Request, _ plugintest.Result) { require.Empty(t, r.Header.Get("apikey")) }},
		{desc: "query disabled", cfg: map[string]any{"key_in_query": false}, req: get("/?apikey=" + secretKey), wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "custom key name", cfg: map[string]any{"key_names": []any{"x-api-key"}}, req: withHeader("X-API-Key", secretKey)},
		{desc: "key in form body hidden", cfg: map[string]any{"key_in_body": true, "hide_credentials": true}, req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("apikey="+secretKey+"&a=b"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, check: func(t *testing.T, r *http.Request, _ plugintest.Result) {
			b := make([]byte, 100)
			n, _ := r.Body.Read(b)
			require.Equal(t, "a=b", string(b[:n]))
			require.EqualValues(t, 3, r.ContentLength)
		}},
		{desc: "anonymous", cfg: map[string]any{"anonymous": "bob"}, req: get("/"), check: func(t *testing.T, r *http.Request, res plugintest.Result) {
			require.Equal(t, plugintest.BobID, res.Context.Consumer.ID)
			require.Nil(t, res.Context.Credential)
			require.Equal(t, "true", r.Header.Get("X-Anonymous-Consumer"))
		}},
		// Kong fails in kong.client.authenticate: a Lua error, answered by
		// kong/error_handlers.lua (text/plain by default).
		{desc: "missing anonymous consumer", cfg: map[string]any{"anonymous": "nobody"}, req: get("/"), wantStatus: 500, wantMsg: "An unexpected error occurred"},
		// spec/03-plugins/09-key-auth/02-access_spec.lua: the order of the
		// other parameters is kept, encoded ones come out decoded.
		{desc: "hidden query key keeps the order", cfg: map[string]any{"hide_credentials": true},
			req: get("/request?c=value1&b=value2&apikey=" + secretKey + "&a=value3"),
			check: func(t *testing.T, r *http.Request, _ plugintest.Result) {
				require.Equal(t, "c=value1&b=value2&a=value3", r.URL.RawQuery)
			}},
		{desc: "hidden encoded query key", cfg: map[string]any{"hide_credentials": true},
			req: get("/request?c=valu%651&b=value2&api%6B%65%79=" + secretKey + "&a=valu%653"),
			check: func(t *testing.T, r *http.Request, _ plugintest.Result) {
				require.Equal(t, "c=value1&b=value2&a=value3", r.URL.RawQuery)
			}},
		{desc: "query kept without hide_credentials", req: get("/request?c=value1&b=value2&apikey=" + secretKey + "&a=value3"),
			check: func(t *testing.T, r *http.Request, _ plugintest.Result) {
				require.Equal(t, "c=value1&b=value2&apikey="+secretKey+"&a=value3", r.URL.RawQuery)
			}},
		// A bare "?apikey" is nginx's true, not a string: no key.
		{desc: "bare query flag", req: get("/?apikey"), wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "duplicate form body key", cfg: map[string]any{"key_in_body": true}, req: post("application/x-www-form-urlencoded", "apikey=kong&apikey=kong"),
			wantStatus: 401, wantMsg: "Duplicate API key found"},
		{desc: "duplicate json body key", cfg: map[string]any{"key_in_body": true}, req: post("application/json", `{"apikey":["kong","kong"]}`),
			wantStatus: 401, wantMsg: "Duplicate API key found"},
		{desc: "apikey[] is not the key", cfg: map[string]any{"key_in_body": true}, req: post("application/x-www-form-urlencoded", "apikey[]=kong&apikey[]=kong"),
			wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "json body key", cfg: map[string]any{"key_in_body": true}, req: post("application/json", `{"apikey":"`+secretKey+`"}`)},
		// kong.request.get_body() reads multipart/form-data too.
		{desc: "multipart body key", cfg: map[string]any{"key_in_body": true}, req: post(mpType, mpBody("a", "1", "apikey", secretKey)),
			check: func(t *testing.T, r *http.Request, res plugintest.Result) {
				require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
				b, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				require.Equal(t, mpBody("a", "1", "apikey", secretKey), string(b), "kept without hide_credentials")
			}},
		{desc: "multipart body key hidden", cfg: map[string]any{"key_in_body": true, "hide_credentials": true},
			req: post(mpType, mpBody("a", "1", "apikey", secretKey, "b", "2")),
			check: func(t *testing.T, r *http.Request, res plugintest.Result) {
				require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
				b, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				want := mpBody("a", "1", "b", "2")
				require.Equal(t, want, string(b))
				require.EqualValues(t, len(want), r.ContentLength)
			}},
		{desc: "multipart body without the key", cfg: map[string]any{"key_in_body": true}, req: post(mpType, mpBody("a", "1")),
			wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "multipart body key, wrong key", cfg: map[string]any{"key_in_body": true}, req: post(mpType, mpBody("apikey", "nope")),
			wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "duplicate multipart body key", cfg: map[string]any{"key_in_body": true},
			req: post(mpType, mpBody("apikey", secretKey, "apikey", secretKey)), wantStatus: 401, wantMsg: "Duplicate API key found"},
		{desc: "multipart without a boundary", cfg: map[string]any{"key_in_body": true},
			req: post("multipart/form-data", mpBody("apikey", secretKey)), wantStatus: 401, wantMsg: "No API key found in request"},
		{desc: "multipart body key ignored without key_in_body", req: post(mpType, mpBody("apikey", secretKey)),
			wantStatus: 401, wantMsg: "No API key found in request"},
		// nginx's header table reads "api_key" as "api-key" too.
		{desc: "underscore name, dash header", cfg: map[string]any{"key_names": []any{"api_key"}}, req: withHeader("api-key", secretKey)},
		{desc: "underscore name, underscore header", cfg: map[string]any{"key_names": []any{"api_key"}}, req: withHeader("api_key", secretKey)},
		{desc: "underscore name, wrong key", cfg: map[string]any{"key_names": []any{"api_key"}}, req: withHeader("api-key", "123"),
			wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "realm configured", cfg: map[string]any{"realm": "test-realm"}, req: withHeader("apikey", ""),
			wantStatus: 401, wantMsg: "No API key found in request", wantChallenge: `Key realm="test-realm"`},
		{desc: "preflight skipped", cfg: map[string]any{"run_on_preflight": false}, req: func() *http.Request {
			return httptest.NewRequest(http.MethodOptions, "/", nil)
		}, check: func(t *testing.T, _ *http.Request, res plugintest.Result) { require.Nil(t, res.Context.Consumer) }},
		{desc: "spoofed consumer headers replaced", req: func() *http.Request {
			r := withHeader("apikey", secretKey)()
			r.Header.Set("X-Consumer-Username", "root")
			r.Header.Set("X-Anonymous-Consumer", "true")
			return r
		}, check: func(t *testing.T, r *http.Request, _ plugintest.Result) {
			require.Equal(t, "alice", r.Header.Get("X-Consumer-Username"))
			require.Empty(t, r.Header.Get("X-Anonymous-Consumer"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := tt.req()
			res := plugintest.Run(t, plugintest.Registry(keyauth.Name, keyauth.New), config(t, tt.cfg), r, nil)
			if tt.wantStatus != 0 {
				require.NotNil(t, res.Response)
				require.Equal(t, tt.wantStatus, res.Response.Status)
				want := plugintest.ErrorJSON(tt.wantMsg)
				if tt.wantStatus == http.StatusInternalServerError {
					want = plugintest.ErrorPlain(tt.wantMsg)
				}
				require.Equal(t, want, string(res.Response.Body))
				if tt.wantStatus == 401 {
					challenge := tt.wantChallenge
					if challenge == "" {
						challenge = "Key"
					}
					require.Equal(t, challenge, res.Response.Header.Get("WWW-Authenticate"))
				}
				require.NotContains(t, string(res.Response.Body), secretKey)
				return
			}
			require.Nil(t, res.Response)
			if tt.check != nil {
				tt.check(t, r, res)
			}
		})
	}
}

func get(target string) func() *http.Request {
	return func() *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }
}

func post(contentType, body string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		return r
	}
}

func withHeader(k, v string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set(k, v)
		return r
	}
}

// TestKeyAuthFoundAllocatesNothing: identifying a caller by a key cuts
// the consumer headers from the entities and makes its identity on the
// stack. (The key's name is in canonical form: looking a lower-case one
// up canonicalizes it, one allocation.)
func TestKeyAuthFoundAllocatesNothing(t *testing.T) {
	cfg := config(t, map[string]any{"key_names": []string{"Apikey"}})
	h, err := keyauth.New(plugin.Env{Config: cfg, Plugin: cfg.Plugins[0]})
	require.NoError(t, err)
	a := h.(plugin.Accessor)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header = http.Header{"Apikey": {secretKey}}
	var pc plugin.Context
	allocs := testing.AllocsPerRun(100, func() {
		r.Header["Apikey"] = r.Header["Apikey"][:1:1]
		pc = plugin.Context{}
		if resp := a.Access(&pc, r); resp != nil {
			t.Fatalf("refused: %d", resp.Status)
		}
	})
	require.Zero(t, allocs)
	require.Equal(t, plugintest.AliceID, pc.Consumer.ID)
	require.Equal(t, "cred-alice", pc.Credential.Meta().ID)
	require.Equal(t, []string{"cred-alice"}, r.Header["X-Credential-Identifier"])
}

const mpType = "multipart/form-data; boundary=kB"

// mpBody is a multipart/form-data body (boundary "kB") of name, value
// pairs.
func mpBody(nv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(nv); i += 2 {
		b.WriteString("--kB\r\nContent-Disposition: form-data; name=\"" + nv[i] + "\"\r\n\r\n" + nv[i+1] + "\r\n")
	}
	return b.String() + "--kB--\r\n"
}
