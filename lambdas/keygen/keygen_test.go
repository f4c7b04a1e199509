package keygen_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/keygen"
)

func event(rt cfn.RequestType, secret, rotation string) cfn.Event {
	props := map[string]any{"SecretId": secret}
	if rotation != "" {
		props["Rotation"] = rotation
	}
	return cfn.Event{RequestType: rt, RequestID: uuid.NewString(), ResourceProperties: props}
}

func verifyKeys(t *testing.T, data map[string]any) []string {
	t.Helper()
	keys := strings.Split(data["VerifyKeys"].(string), ",")
	for _, k := range keys {
		raw, err := base64.StdEncoding.DecodeString(k)
		require.NoError(t, err)
		require.Len(t, raw, ed25519.PublicKeySize)
	}
	return keys
}

// TestRotation walks the documented procedure against Secrets Manager on
// the emulator: create, prepare, promote, retire, each step repeated to
// show a retried deploy changes nothing.
func TestRotation(t *testing.T) {
	moto := motoserver.Start(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(moto.Config())
	// The stack creates the secret with a generated placeholder value.
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("signing"), SecretString: aws.String("placeholder"),
	})
	require.NoError(t, err)
	h := &keygen.Handler{Secrets: sm}
	run := func(rt cfn.RequestType, rotation string) (string, map[string]any) {
		t.Helper()
		id, data, err := h.Handle(ctx, event(rt, *created.ARN, rotation))
		require.NoError(t, err, "%s %s", rt, rotation)
		return id, data
	}
	stored := func() *keygen.Secret {
		t.Helper()
		val, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
		require.NoError(t, err)
		s, err := keygen.ParseSecret(*val.SecretString)
		require.NoError(t, err)
		return s
	}

	id, first := run(cfn.RequestCreate, "")
	require.Equal(t, []string{first["PublicKey"].(string)}, verifyKeys(t, first))
	priv, err := stored().SigningKey()
	require.NoError(t, err)
	require.Equal(t, first["PublicKey"], base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)))
	require.Equal(t, keygen.KeyID(priv.Public().(ed25519.PublicKey)), first["KeyId"])

	// A second Create and a plain Update keep the key.
	for _, rt := range []cfn.RequestType{cfn.RequestUpdate, cfn.RequestCreate} {
		again, data := run(rt, "")
		require.Equal(t, id, again)
		require.Equal(t, first["PublicKey"], data["PublicKey"], rt)
	}

	// prepare: a next key is published beside the current one, which
	// still signs.
	for range 2 {
		_, prep := run(cfn.RequestUpdate, keygen.RotationPrepare)
		require.Equal(t, first["PublicKey"], prep["PublicKey"])
		keys := verifyKeys(t, prep)
		require.Len(t, keys, 2)
		require.Equal(t, first["PublicKey"], keys[0])
	}
	next := verifyKeys(t, mustData(run(cfn.RequestUpdate, keygen.RotationPrepare)))[1]

	// promote: the next key signs; the old one is still trusted.
	for range 2 {
		_, prom := run(cfn.RequestUpdate, keygen.RotationPromote)
		require.Equal(t, next, prom["PublicKey"])
		require.Equal(t, []string{next, first["PublicKey"].(string)}, verifyKeys(t, prom))
	}
	require.NotEmpty(t, stored().Previous)

	// retire: only the new key is left.
	_, done := run(cfn.RequestUpdate, "")
	require.Equal(t, []string{next}, verifyKeys(t, done))
	require.Equal(t, keygen.Secret{Current: stored().Current}, *stored())

	// promote without a prepared key would sign with a key no data plane
	// trusts: refused, secret unchanged.
	_, _, err = h.Handle(ctx, event(cfn.RequestUpdate, *created.ARN, keygen.RotationPromote))
	require.ErrorIs(t, err, keygen.ErrRotation)
	_, _, err = h.Handle(ctx, event(cfn.RequestUpdate, *created.ARN, "sometimes"))
	require.ErrorIs(t, err, keygen.ErrRotation)
	require.Equal(t, keygen.Secret{Current: stored().Current}, *stored())

	_, data, err := h.Handle(ctx, event(cfn.RequestDelete, *created.ARN, ""))
	require.NoError(t, err)
	require.Empty(t, data)
}

func mustData(_ string, data map[string]any) map[string]any { return data }

func TestKeygenNeedsSecretID(t *testing.T) {
	t.Parallel()
	_, _, err := (&keygen.Handler{}).Handle(context.Background(), cfn.Event{RequestType: cfn.RequestCreate})
	require.Error(t, err)
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	_, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pem, err := snapshot.MarshalPrivateKey(priv)
	require.NoError(t, err)
	tests := []struct {
		desc, value string
		ok          bool
	}{
		{"a bare PEM, as stacks before rotation stored it", string(pem), true},
		{"the JSON form", (&keygen.Secret{Current: string(pem)}).String(), true},
		{"a placeholder", "Zx81kq", false},
		{"JSON without a current key", `{"next":"x"}`, false},
		{"a bad next key", (&keygen.Secret{Current: string(pem), Next: "x"}).String(), false},
		{"too large", strings.Repeat("a", 20<<10), false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s, err := keygen.ParseSecret(tc.value)
			if !tc.ok {
				require.ErrorIs(t, err, keygen.ErrSecret)
				require.NotContains(t, err.Error(), "PRIVATE KEY")
				return
			}
			require.NoError(t, err)
			k, err := s.SigningKey()
			require.NoError(t, err)
			require.Equal(t, priv, k)
		})
	}
}
