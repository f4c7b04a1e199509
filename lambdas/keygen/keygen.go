// Package keygen is the CloudFormation custom resource that gives the
// publisher its Ed25519 signing key at deploy time: on Create it writes a
// new private key into the signing-key secret (unless the secret already
// holds one, so a replaced resource keeps the key) and returns the public
// key, which the stack passes to data planes as their verify key. Update
// returns the existing key; Delete leaves the secret alone (it is retained).
package keygen

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Secrets is the part of the Secrets Manager client keygen uses.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Event is the custom resource provider framework's onEvent request.
type Event struct {
	RequestType        string         `json:"RequestType"`
	PhysicalResourceID string         `json:"PhysicalResourceId,omitempty"`
	ResourceProperties map[string]any `json:"ResourceProperties"`
}

// Response is the onEvent answer: the physical id and the attributes.
type Response struct {
	PhysicalResourceID string            `json:"PhysicalResourceId"`
	Data               map[string]string `json:"Data,omitempty"`
}

// Handler answers onEvent requests.
type Handler struct {
	Secrets Secrets
}

// Handle implements the provider framework's onEvent contract.
func (h *Handler) Handle(ctx context.Context, ev Event) (Response, error) {
	secretID, _ := ev.ResourceProperties["SecretId"].(string)
	if secretID == "" {
		return Response{}, errors.New("keygen: SecretId property is required")
	}
	resp := Response{PhysicalResourceID: "skyport-signing-key:" + secretID}
	if ev.RequestType == "Delete" {
		return resp, nil
	}
	pub, err := h.ensure(ctx, secretID)
	if err != nil {
		return Response{}, err
	}
	pem, err := snapshot.MarshalPublicKey(pub)
	if err != nil {
		return Response{}, err
	}
	resp.Data = map[string]string{
		"PublicKey":    base64.StdEncoding.EncodeToString(pub),
		"PublicKeyPem": string(pem),
	}
	return resp, nil
}

// ensure returns the public half of the key in the secret, writing a new
// key first when the secret holds none.
func (h *Handler) ensure(ctx context.Context, secretID string) (ed25519.PublicKey, error) {
	out, err := h.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err == nil && out.SecretString != nil {
		if priv, perr := snapshot.ParsePrivateKey([]byte(*out.SecretString)); perr == nil {
			return priv.Public().(ed25519.PublicKey), nil
		}
	}
	pub, priv, err := snapshot.GenerateKey()
	if err != nil {
		return nil, err
	}
	pem, err := snapshot.MarshalPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if _, err := h.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(secretID), SecretString: aws.String(string(pem)),
	}); err != nil {
		return nil, fmt.Errorf("storing the signing key: %w", err)
	}
	return pub, nil
}
