package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/vault"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// TestVaultReferences: a plugin configuration's {vault://…} reference is
// resolved from the data plane's environment when the configuration is
// compiled; a reference that cannot be resolved refuses the configuration.
func TestVaultReferences(t *testing.T) {
	t.Parallel()
	conf, errs, _ := pluginschema.Normalize("request-termination", map[string]any{
		"status_code": 403, "message": "{vault://team/closed-message}"})
	require.Empty(t, errs)
	cfg := &model.Config{
		Vaults:   []*model.Vault{{Base: model.Base{ID: "v1"}, Prefix: "team", Name: "env", Config: &model.VaultConfig{Prefix: model.String("skyport-")}}},
		Services: []*model.Service{service("svc", "127.0.0.1", 9, "")},
		Routes:   []*model.Route{route("r", "svc", "/")},
		Plugins:  []*model.Plugin{{Base: model.Base{ID: "p1"}, Name: "request-termination", Enabled: true, Config: conf}},
	}
	env := map[string]string{"SKYPORT_CLOSED_MESSAGE": "closed for maintenance"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	_, front := newProxy(t, cfg, func(o *proxy.Options) { o.Registry, o.VaultEnv = plugins.Registry(), lookup })

	res, err := front.Client().Get(front.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, string(body), "closed for maintenance")

	delete(env, "SKYPORT_CLOSED_MESSAGE")
	px, _ := newProxy(t, nil, func(o *proxy.Options) { o.Registry, o.VaultEnv = plugins.Registry(), lookup })
	err = px.Apply(context.Background(), cfg, 1, "test")
	require.ErrorIs(t, err, vault.ErrUnresolved)
	require.ErrorContains(t, err, "SKYPORT_CLOSED_MESSAGE")
}

// TestVaultCertificates: a certificate whose cert and key are references
// is served with the secrets of the data plane's environment; an
// unresolvable one refuses the configuration and the running
// certificates stay.
func TestVaultCertificates(t *testing.T) {
	t.Parallel()
	ca := certstest.NewAuthority(t, "vault-ca")
	certPEM, keyPEM := ca.Issue(t, "secret.test", "secret.test")
	cfg := &model.Config{
		Certificates: []*model.Certificate{{Base: model.Base{ID: "c1"}, Cert: "{vault://env/tls-cert}",
			Key: "{vault://env/tls-key}", SNIs: []string{"secret.test"}}},
	}
	env := map[string]string{"TLS_CERT": certPEM, "TLS_KEY": keyPEM}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	m, err := certs.New(certs.Options{})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	px, _ := newProxy(t, cfg, func(o *proxy.Options) { o.Certificates, o.VaultEnv = m, lookup })

	served := func() string {
		c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "secret.test"})
		require.NoError(t, err)
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		require.NoError(t, err)
		return leaf.Subject.CommonName
	}
	require.Equal(t, "secret.test", served())

	delete(env, "TLS_KEY")
	err = px.Apply(context.Background(), cfg, 2, "test")
	require.ErrorIs(t, err, vault.ErrUnresolved)
	require.ErrorContains(t, err, "certificate c1")
	require.NotContains(t, err.Error(), "PRIVATE KEY", "no secret in errors")
	rev, _ := px.Current()
	require.Equal(t, int64(1), rev)
	require.Equal(t, "secret.test", served())
}
