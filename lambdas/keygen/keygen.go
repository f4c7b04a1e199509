// Package keygen is the CloudFormation custom resource that gives the
// publisher its Ed25519 signing key and rotates it.
//
// CloudFormation invokes the function directly (the resource's service
// token is the function) and the handler's answer is PUT to the event's
// presigned ResponseURL (cfn.LambdaWrap in the command). On Create and
// Update the handler makes the signing-key secret match the resource's
// Rotation property and returns the public keys data planes must trust;
// Delete leaves the secret alone (it is retained).
//
// Rotation is a procedure of three deploys (README "Rotating the signing
// key"):
//
//   - prepare: a next key is generated and published beside the current
//     one (VerifyKeys lists both); the publisher still signs with the
//     current key, so data planes can be given both before it changes.
//   - promote: the next key becomes the signing key; the old one stays
//     trusted (VerifyKeys lists both) while snapshots it signed remain.
//   - none (the default): the secret keeps only the current key.
package keygen

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Rotation phases: the values of the resource's Rotation property.
const (
	RotationNone    = "none"
	RotationPrepare = "prepare"
	RotationPromote = "promote"
)

// ErrRotation reports a Rotation property the handler cannot act on.
var ErrRotation = errors.New("signing-key rotation")

// Secrets is the part of the Secrets Manager client keygen uses.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Handler answers the custom resource's events.
type Handler struct {
	Secrets Secrets
	// Logger receives what changed; nil discards it.
	Logger *slog.Logger
}

// Handle implements cfn.CustomResourceFunction. Its attributes:
// PublicKey (the signing key's public half, base64), PublicKeyPem,
// VerifyKeys (every trusted public key, base64, comma-separated, as
// --verify-key takes them) and KeyId (names the signing key).
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	secretID, _ := ev.ResourceProperties["SecretId"].(string)
	if secretID == "" {
		return "", nil, errors.New("keygen: the SecretId property is required")
	}
	physicalID := "skyport-signing-key:" + secretID
	if ev.RequestType == cfn.RequestDelete {
		return physicalID, nil, nil
	}
	phase, _ := ev.ResourceProperties["Rotation"].(string)
	if phase == "" {
		phase = RotationNone
	}
	s, err := h.load(ctx, secretID)
	if err != nil {
		return "", nil, err
	}
	changed, err := s.rotate(phase)
	if err != nil {
		return "", nil, err
	}
	if changed {
		if err := h.store(ctx, secretID, s, ev.RequestID); err != nil {
			return "", nil, err
		}
	}
	priv, err := s.SigningKey()
	if err != nil {
		return "", nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	pem, err := snapshot.MarshalPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	h.log().Info("signing key", "rotation", phase, "changed", changed, "key_id", KeyID(pub), "verify_keys", len(s.VerifyKeys()))
	return physicalID, map[string]any{
		"PublicKey":    base64.StdEncoding.EncodeToString(pub),
		"PublicKeyPem": string(pem),
		"VerifyKeys":   JoinKeys(s.VerifyKeys()),
		"KeyId":        KeyID(pub),
	}, nil
}

// load reads the secret. A secret that holds no key yet (the stack creates
// it with a random placeholder) reads as an empty Secret.
func (h *Handler) load(ctx context.Context, secretID string) (*Secret, error) {
	out, err := h.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("reading the signing-key secret %s: %w", secretID, err)
	}
	s, err := ParseSecret(aws.ToString(out.SecretString))
	if err != nil {
		h.log().Info("the signing-key secret holds no key yet: generating one", "secret", secretID)
		return &Secret{}, nil
	}
	return s, nil
}

// store writes the secret; token makes a retried event idempotent.
func (h *Handler) store(ctx context.Context, secretID string, s *Secret, token string) error {
	in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(s.String())}
	if len(token) >= 32 && len(token) <= 64 {
		in.ClientRequestToken = aws.String(token)
	}
	if _, err := h.Secrets.PutSecretValue(ctx, in); err != nil {
		return fmt.Errorf("storing the signing key in %s: %w", secretID, err)
	}
	return nil
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// rotate brings s to phase and reports whether it changed.
func (s *Secret) rotate(phase string) (bool, error) {
	before := *s
	if s.Current == "" {
		k, err := newKeyPEM()
		if err != nil {
			return false, err
		}
		s.Current = k
	}
	switch phase {
	case RotationNone:
		s.Next, s.Previous = "", ""
	case RotationPrepare:
		s.Previous = ""
		if s.Next == "" {
			k, err := newKeyPEM()
			if err != nil {
				return false, err
			}
			s.Next = k
		}
	case RotationPromote:
		switch {
		case s.Next != "":
			s.Previous, s.Current, s.Next = s.Current, s.Next, ""
		case s.Previous != "":
			// Already promoted: a repeated deploy changes nothing.
		default:
			return false, fmt.Errorf("%w: promote needs a next key: deploy with rotation %q first, so data planes trust it before it signs", ErrRotation, RotationPrepare)
		}
	default:
		return false, fmt.Errorf("%w: %q: want %s, %s or %s", ErrRotation, phase, RotationNone, RotationPrepare, RotationPromote)
	}
	return *s != before, nil
}
