package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/jwt"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

const hmacSecret = "hmac-secret-value"

var (
	rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func sign(t *testing.T, alg string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case "HS256":
		m := hmac.New(sha256.New, []byte(hmacSecret))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "RS256":
		var err error
		sig, err = rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
		require.NoError(t, err)
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, ecKey, digest[:])
		require.NoError(t, err)
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + b64(sig)
}

func pemOf(t *testing.T, pub any) *string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	s := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return &s
}

func fixture(t *testing.T, cfg map[string]any) *model.Config {
	c := plugintest.Fixture()
	alice := &model.Ref{ID: plugintest.AliceID}
	c.JWTSecrets = []*model.JWTSecret{
		{Base: model.Base{ID: "j1"}, Key: "hs-key", Secret: hmacSecret, Algorithm: "HS256", Consumer: alice},
		{Base: model.Base{ID: "j2"}, Key: "rs-key", Algorithm: "RS256", RSAPublicKey: pemOf(t, &rsaKey.PublicKey), Consumer: alice},
		{Base: model.Base{ID: "j3"}, Key: "es-key", Algorithm: "ES256", RSAPublicKey: pemOf(t, &ecKey.PublicKey), Consumer: alice},
		{Base: model.Base{ID: "j4"}, Key: "orphan", Secret: hmacSecret, Algorithm: "HS256", Consumer: &model.Ref{ID: "gone"}},
	}
	c.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", jwt.Name, cfg)}
	return c
}

func TestJWT(t *testing.T) {
	t.Parallel()
	now := time.Now().Unix()
	tests := []struct {
		desc    string
		cfg     map[string]any
		token   func(t *testing.T) string
		where   string // header (default), query, cookie
		want    string // expected 401 body; empty for success
		wantKey string
		// challenge is the WWW-Authenticate expected when it is not the default.
		challenge string
	}{
		{desc: "hs256", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) }, wantKey: "hs-key"},
		{desc: "rs256", token: func(t *testing.T) string { return sign(t, "RS256", map[string]any{"iss": "rs-key"}) }, wantKey: "rs-key"},
		{desc: "es256", token: func(t *testing.T) string { return sign(t, "ES256", map[string]any{"iss": "es-key"}) }, wantKey: "es-key"},
		{desc: "in query", where: "query", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) }, wantKey: "hs-key"},
		{desc: "in cookie", cfg: map[string]any{"cookie_names": []any{"tok"}}, where: "cookie",
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) }, wantKey: "hs-key"},
		{desc: "no token", token: func(*testing.T) string { return "" }, want: `{"message":"Unauthorized"}`},
		{desc: "garbage", token: func(*testing.T) string { return "a.b" }, want: `{"message":"Bad token; invalid token"}`},
		{desc: "no iss", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"sub": "x"}) }, want: `{"message":"No mandatory 'iss' in claims"}`},
		{desc: "unknown key", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "nope"}) }, want: `{"message":"No credentials found for given 'iss'"}`},
		{desc: "algorithm mismatch", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "rs-key"}) }, want: `{"message":"Invalid algorithm"}`},
		{desc: "bad signature", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) + "x" }, want: `{"message":"Invalid signature"}`},
		{desc: "expired", cfg: map[string]any{"claims_to_verify": []any{"exp"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": now - 10}) }, want: `{"exp":"token expired"}`},
		{desc: "not yet valid", cfg: map[string]any{"claims_to_verify": []any{"nbf"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key", "nbf": now + 600}) }, want: `{"nbf":"token not valid yet"}`},
		{desc: "exp not a number", cfg: map[string]any{"claims_to_verify": []any{"exp"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": "soon"}) }, want: `{"exp":"must be a number"}`},
		// Kong's verify_registered_claims (kong/plugins/jwt/jwt_parser.lua)
		// checks type(claim) ~= "number" first: an absent claim to verify
		// refuses the token.
		{desc: "exp absent", cfg: map[string]any{"claims_to_verify": []any{"exp"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) }, want: `{"exp":"must be a number"}`},
		{desc: "nbf absent", cfg: map[string]any{"claims_to_verify": []any{"nbf"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) }, want: `{"nbf":"must be a number"}`},
		{desc: "exp null", cfg: map[string]any{"claims_to_verify": []any{"exp"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": nil}) }, want: `{"exp":"must be a number"}`},
		{desc: "both absent", cfg: map[string]any{"claims_to_verify": []any{"exp", "nbf"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) },
			want:  `{"exp":"must be a number","nbf":"must be a number"}`},
		{desc: "valid exp and nbf", cfg: map[string]any{"claims_to_verify": []any{"exp", "nbf"}},
			token: func(t *testing.T) string {
				return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": now + 600, "nbf": now - 10})
			}, wantKey: "hs-key"},
		// kong/plugins/jwt/handler.lua checks maximum_expiration only once
		// the registered claims passed.
		{desc: "claims errors before maximum expiration", cfg: map[string]any{"claims_to_verify": []any{"exp", "nbf"}, "maximum_expiration": 60},
			token: func(t *testing.T) string {
				return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": now + 3600, "nbf": now + 600})
			}, want: `{"nbf":"token not valid yet"}`},
		// retrieve_tokens (kong/plugins/jwt/handler.lua) gathers every value
		// of a query parameter: two different tokens are refused.
		{desc: "two tokens in one query parameter", where: "query2",
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) },
			want:  `{"message":"Multiple tokens provided"}`},
		{desc: "maximum expiration", cfg: map[string]any{"claims_to_verify": []any{"exp"}, "maximum_expiration": 60},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": now + 3600}) }, want: `{"exp":"exceeds maximum allowed expiration"}`},
		{desc: "custom key claim", cfg: map[string]any{"key_claim_name": "kid"},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"kid": "hs-key"}) }, wantKey: "hs-key"},
		{desc: "consumer gone", token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "orphan"}) }, want: `{"message":"Could not find consumer for 'iss=orphan'"}`},
		{desc: "realm, no token", cfg: map[string]any{"realm": "kong-test"}, token: func(*testing.T) string { return "" },
			want: `{"message":"Unauthorized"}`, challenge: `Bearer realm="kong-test"`},
		{desc: "realm, bad signature", cfg: map[string]any{"realm": "kong-test"},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key"}) + "x" },
			want:  `{"message":"Invalid signature"}`, challenge: `Bearer realm="kong-test" error="invalid_token"`},
		{desc: "realm, expired", cfg: map[string]any{"realm": "kong-test", "claims_to_verify": []any{"exp"}},
			token: func(t *testing.T) string { return sign(t, "HS256", map[string]any{"iss": "hs-key", "exp": now - 10}) },
			want:  `{"exp":"token expired"}`, challenge: `Bearer realm="kong-test" error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			tok := tt.token(t)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			switch {
			case tok == "":
			case tt.where == "query":
				r.URL.RawQuery = "jwt=" + tok
			case tt.where == "query2":
				r.URL.RawQuery = "jwt=" + tok + "&jwt=" + sign(t, "HS256", map[string]any{"iss": "rs-key"})
			case tt.where == "cookie":
				r.AddCookie(&http.Cookie{Name: "tok", Value: tok})
			default:
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			res := plugintest.Run(t, plugintest.Registry(jwt.Name, jwt.New), fixture(t, tt.cfg), r, nil)
			if tt.want != "" {
				require.NotNil(t, res.Response)
				require.Equal(t, http.StatusUnauthorized, res.Response.Status)
				// kong.response.exit: cjson's bytes, no request id.
				require.Equal(t, tt.want, string(res.Response.Body))
				require.NotContains(t, string(res.Response.Body), hmacSecret)
				// kong/plugins/jwt/handler.lua: "Bearer" without a token,
				// error="invalid_token" for every token refused (claims
				// included), none when the consumer is gone.
				challenge := tt.challenge
				switch {
				case challenge != "":
				case tt.desc == "no token":
					challenge = "Bearer"
				case tt.desc != "consumer gone":
					challenge = `Bearer error="invalid_token"`
				}
				require.Equal(t, challenge, res.Response.Header.Get("WWW-Authenticate"))
				return
			}
			require.Nil(t, res.Response)
			require.Equal(t, plugintest.AliceID, res.Context.Consumer.ID)
			require.Equal(t, tt.wantKey, r.Header.Get("X-Credential-Identifier"))
		})
	}
}
