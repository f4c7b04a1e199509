package vault_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/vault"
	"github.com/skyport-gw/skyport/internal/model"
)

func env(vars map[string]string) vault.Lookup {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestGet(t *testing.T) {
	t.Parallel()
	vaults := map[string]*model.Vault{
		"my-env": {Prefix: "my-env", Name: "env", Config: &model.VaultConfig{Prefix: model.String("team-a_")}},
	}
	lookup := env(map[string]string{
		"MY_SECRET": "plain", "TEAM_A_DB": "from-prefix", "CREDS": `{"user":"u","n":1}`,
	})
	tests := []struct {
		desc, ref, want string
		wantErr         string
	}{
		{desc: "env vault", ref: "{vault://env/my-secret}", want: "plain"},
		{desc: "vault entity's prefix", ref: "{vault://my-env/db}", want: "from-prefix"},
		{desc: "json key", ref: "{vault://env/creds/user}", want: "u"},
		{desc: "json key not a string", ref: "{vault://env/creds/n}", wantErr: `has no string "n"`},
		{desc: "unset", ref: "{vault://env/absent}", wantErr: "environment variable ABSENT is not set"},
		{desc: "unknown vault", ref: "{vault://aws/x}", wantErr: "no vault with prefix 'aws'"},
		{desc: "no resource", ref: "{vault://env/}", wantErr: "names no secret"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := vault.Get(tc.ref, vaults, lookup)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, vault.ErrUnresolved)
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "plain", "no secret in errors")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	withRef := &model.Plugin{Base: model.Base{ID: "p1"}, Name: "request-transformer", Config: map[string]any{
		"add": map[string]any{"headers": []any{"x-api-key:static", "{vault://env/api-key}"}}}}
	plain := &model.Plugin{Base: model.Base{ID: "p2"}, Name: "cors", Config: map[string]any{"origins": []any{"*"}}}
	cfg := &model.Config{Plugins: []*model.Plugin{withRef, plain}}

	out, err := vault.Resolve(cfg, env(map[string]string{"API_KEY": "k"}))
	require.NoError(t, err)
	require.Equal(t, []any{"x-api-key:static", "k"}, out.Plugins[0].Config["add"].(map[string]any)["headers"])
	require.Same(t, plain, out.Plugins[1], "a plugin without references is shared")
	require.Equal(t, "{vault://env/api-key}", withRef.Config["add"].(map[string]any)["headers"].([]any)[1],
		"the snapshot's configuration is not changed")

	_, err = vault.Resolve(cfg, env(nil))
	require.True(t, errors.Is(err, vault.ErrUnresolved))
	require.ErrorContains(t, err, "plugin request-transformer (p1)")

	same, err := vault.Resolve(&model.Config{Plugins: []*model.Plugin{plain}}, env(nil))
	require.NoError(t, err)
	require.Len(t, same.Plugins, 1)
}

func TestResolveCertificates(t *testing.T) {
	t.Parallel()
	alt, keyAlt := "{vault://env/tls-cert-alt}", "literal alt key"
	withRef := &model.Certificate{Base: model.Base{ID: "c1"}, Cert: "{vault://env/tls-cert}", Key: "{vault://env/tls-key}",
		CertAlt: &alt, KeyAlt: &keyAlt}
	plain := &model.Certificate{Base: model.Base{ID: "c2"}, Cert: "pem", Key: "pem key"}
	cfg := &model.Config{Certificates: []*model.Certificate{withRef, plain}}

	out, err := vault.Resolve(cfg, env(map[string]string{"TLS_CERT": "cert", "TLS_KEY": "key", "TLS_CERT_ALT": "cert alt"}))
	require.NoError(t, err)
	got := out.Certificates[0]
	require.Equal(t, []string{"cert", "key", "cert alt", "literal alt key"}, []string{got.Cert, got.Key, *got.CertAlt, *got.KeyAlt})
	require.Same(t, plain, out.Certificates[1], "a certificate without references is shared")
	require.Equal(t, "{vault://env/tls-cert}", withRef.Cert, "the snapshot's certificate is not changed")
	require.Equal(t, "{vault://env/tls-cert-alt}", *withRef.CertAlt, "nor its alternate")

	_, err = vault.Resolve(cfg, env(map[string]string{"TLS_CERT": "cert", "TLS_KEY": "key"}))
	require.ErrorIs(t, err, vault.ErrUnresolved)
	require.ErrorContains(t, err, "certificate c1")
	require.ErrorContains(t, err, "TLS_CERT_ALT")
	require.NotContains(t, err.Error(), "cert alt", "no secret in errors")
}
