package keygen_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/keygen"
)

func TestKeygenAgainstSecretsManager(t *testing.T) {
	moto := motoserver.Start(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(moto.Config())
	// The stack creates the secret with a generated placeholder value.
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("signing"), SecretString: aws.String("placeholder"),
	})
	require.NoError(t, err)
	h := &keygen.Handler{Secrets: sm}
	props := map[string]any{"SecretId": *created.ARN}

	first, err := h.Handle(ctx, keygen.Event{RequestType: "Create", ResourceProperties: props})
	require.NoError(t, err)
	pub, err := base64.StdEncoding.DecodeString(first.Data["PublicKey"])
	require.NoError(t, err)
	require.Len(t, pub, ed25519.PublicKeySize)

	// The secret now holds the private key that matches.
	val, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
	require.NoError(t, err)
	priv, err := snapshot.ParsePrivateKey([]byte(*val.SecretString))
	require.NoError(t, err)
	require.Equal(t, ed25519.PublicKey(pub), priv.Public())

	// Update and a second Create keep the key.
	for _, rt := range []string{"Update", "Create"} {
		again, err := h.Handle(ctx, keygen.Event{RequestType: rt, ResourceProperties: props, PhysicalResourceID: first.PhysicalResourceID})
		require.NoError(t, err)
		require.Equal(t, first.Data["PublicKey"], again.Data["PublicKey"], rt)
		require.Equal(t, first.PhysicalResourceID, again.PhysicalResourceID)
	}
	del, err := h.Handle(ctx, keygen.Event{RequestType: "Delete", ResourceProperties: props})
	require.NoError(t, err)
	require.Empty(t, del.Data)
}

func TestKeygenNeedsSecretID(t *testing.T) {
	t.Parallel()
	_, err := (&keygen.Handler{}).Handle(context.Background(), keygen.Event{RequestType: "Create"})
	require.Error(t, err)
}
