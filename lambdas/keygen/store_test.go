package keygen_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/keygen"
)

// TestEnsureSecret: an absent secret is created once in the stack's
// format, whoever asks at the same time; it is read back as it is; a
// secret holding no key (the stack's placeholder) or none at all is an
// error that names no key material.
func TestEnsureSecret(t *testing.T) {
	moto := motoserver.Start(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(moto.Config())

	_, err := keygen.ReadSecret(ctx, sm, "skyport-signing-key")
	require.ErrorIs(t, err, keygen.ErrNoSecret)

	secrets := make([]*keygen.Secret, 4)
	created := make([]bool, len(secrets))
	errs := make([]error, len(secrets))
	var wg sync.WaitGroup
	for i := range secrets {
		wg.Go(func() { secrets[i], created[i], errs[i] = keygen.EnsureSecret(ctx, sm, "skyport-signing-key") })
	}
	wg.Wait()
	n := 0
	for i := range secrets {
		require.NoError(t, errs[i])
		require.Equal(t, secrets[0], secrets[i], "every caller has one key")
		if created[i] {
			n++
		}
	}
	require.Equal(t, 1, n, "created once")
	read, err := keygen.ReadSecret(ctx, sm, "skyport-signing-key")
	require.NoError(t, err)
	require.Equal(t, secrets[0], read)
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("skyport-signing-key")})
	require.NoError(t, err)
	require.Contains(t, aws.ToString(out.SecretString), `"current":"-----BEGIN PRIVATE KEY-----`, "the stack's JSON format")

	// A bare PEM (a stack created before rotation) reads as current.
	_, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pem, err := snapshot.MarshalPrivateKey(priv)
	require.NoError(t, err)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bare"), SecretString: aws.String(string(pem))})
	require.NoError(t, err)
	s, created1, err := keygen.EnsureSecret(ctx, sm, "bare")
	require.NoError(t, err)
	require.False(t, created1)
	key, err := s.SigningKey()
	require.NoError(t, err)
	require.Equal(t, priv, key)

	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("placeholder"), SecretString: aws.String("Zx9placeholder")})
	require.NoError(t, err)
	_, _, err = keygen.EnsureSecret(ctx, sm, "placeholder")
	require.ErrorIs(t, err, keygen.ErrSecret, "a placeholder is never overwritten")
	require.NotContains(t, err.Error(), "Zx9placeholder")
}
