package model_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func consumerRef() *model.Ref { return &model.Ref{ID: uuidA} }

func TestKeyAuth(t *testing.T) {
	runValid(t, func() *model.KeyAuth { return &model.KeyAuth{Key: "k", Consumer: consumerRef()} },
		[]validCase[*model.KeyAuth]{
			{desc: "valid"},
			{desc: "generated key", mutate: func(c *model.KeyAuth) { c.Key = "" }},
			{desc: "no consumer", mutate: func(c *model.KeyAuth) { c.Consumer = nil },
				want: map[string]string{"consumer": "required field missing"}},
			{desc: "ttl", mutate: func(c *model.KeyAuth) { c.TTL = model.Int(-1) },
				want: map[string]string{"ttl": "value should be between 0 and 100000000"}},
		})
	a, b := &model.KeyAuth{}, &model.KeyAuth{}
	a.Normalize()
	b.Normalize()
	require.Len(t, a.Key, 32)
	require.NotEqual(t, a.Key, b.Key)
}

func TestBasicAuth(t *testing.T) {
	runValid(t, func() *model.BasicAuth {
		return &model.BasicAuth{Username: "u", Password: "p", Consumer: consumerRef()}
	}, []validCase[*model.BasicAuth]{
		{desc: "valid"},
		{desc: "missing", mutate: func(c *model.BasicAuth) { c.Username, c.Password, c.Consumer = "", "", nil },
			want: map[string]string{"username": "required field missing", "password": "required field missing",
				"consumer": "required field missing"}},
	})
	c := &model.BasicAuth{Password: "plain"}
	c.Normalize()
	require.Equal(t, "plain", c.Password, "Normalize must not hash")
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := model.HashPassword("s3cret")
	require.NoError(t, err)
	require.True(t, model.IsPasswordHash(h))
	require.False(t, model.IsPasswordHash("s3cret"))
	require.False(t, model.IsPasswordHash("$2a$10$"+strings.Repeat("!", 53)))
	require.True(t, model.IsPasswordHash("$2a$10$cTDFg6nq7/wj3h3qyuM9aO13asbQUS6PxeHMRZ9k8pGob2yYuFhQG"))
	require.True(t, model.CheckPassword(h, "s3cret"))
	require.False(t, model.CheckPassword(h, "S3cret"))
	_, err = model.HashPassword(strings.Repeat("p", 73))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "ppp")
}

func TestJWTSecret(t *testing.T) {
	rsaPEM := publicKeyPEM(t)
	runValid(t, func() *model.JWTSecret {
		c := model.NewJWTSecret()
		c.Consumer = consumerRef()
		return c
	}, []validCase[*model.JWTSecret]{
		{desc: "generated key and secret"},
		{desc: "ES256 with key", mutate: func(c *model.JWTSecret) { c.Algorithm, c.RSAPublicKey = "ES256", model.String(rsaPEM) }},
		{desc: "RS256 without key", mutate: func(c *model.JWTSecret) { c.Algorithm = "RS256" },
			want: map[string]string{"rsa_public_key": "required field missing"}},
		{desc: "RS256 with garbage", mutate: func(c *model.JWTSecret) { c.Algorithm, c.RSAPublicKey = "RS256", model.String("x") },
			want: map[string]string{"rsa_public_key": "invalid key"}},
		{desc: "algorithm", mutate: func(c *model.JWTSecret) { c.Algorithm = "none" },
			want: map[string]string{"algorithm": "expected one of: HS256, HS384, HS512, RS256, ES256"}},
	})
	c := model.NewJWTSecret()
	c.Normalize()
	require.Len(t, c.Key, 32)
	require.Len(t, c.Secret, 32)
	r := &model.JWTSecret{Algorithm: "RS256"}
	r.Normalize()
	require.Empty(t, r.Secret)
}

func TestACL(t *testing.T) {
	runValid(t, func() *model.ACL { return &model.ACL{Group: "g", Consumer: consumerRef()} },
		[]validCase[*model.ACL]{
			{desc: "valid"},
			{desc: "missing", mutate: func(c *model.ACL) { c.Group, c.Consumer = "", nil },
				want: map[string]string{"group": "required field missing", "consumer": "required field missing"}},
		})
}

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	p := newPair(t, "jwt", false, nil)
	der, err := x509.MarshalPKIXPublicKey(&p.priv.PublicKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
