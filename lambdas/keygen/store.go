package keygen

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// ErrNoSecret reports a signing-key secret that does not exist.
var ErrNoSecret = errors.New("signing-key secret not found")

// SecretReader is the part of the Secrets Manager client ReadSecret uses.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretCreator is the part of the Secrets Manager client EnsureSecret
// uses.
type SecretCreator interface {
	SecretReader
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
}

// ReadSecret reads the signing-key secret id (a name or an ARN): the
// publisher's key and the keys data planes trust. It fails with
// ErrNoSecret when there is no such secret, and with ErrSecret when it
// holds no usable key (a stack whose keygen resource has not run); no key
// material appears in its errors.
func ReadSecret(ctx context.Context, sm SecretReader, id string) (*Secret, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var missing *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("reading secret %s: %w", id, ErrNoSecret)
	case err != nil:
		return nil, fmt.Errorf("reading secret %s: %w", id, err)
	}
	s, err := ParseSecret(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("reading the signing key from secret %s: %w", id, err)
	}
	return s, nil
}

// EnsureSecret reads the signing-key secret id, creating it with a new key
// (in the stack's format, Secret) when it does not exist. Of two processes
// creating it at once, one creates it and the other reads that one; an
// existing secret is never overwritten. created reports whether this call
// created it.
func EnsureSecret(ctx context.Context, sm SecretCreator, id string) (s *Secret, created bool, err error) {
	s, err = ReadSecret(ctx, sm, id)
	if !errors.Is(err, ErrNoSecret) {
		return s, false, err
	}
	pem, err := newKeyPEM()
	if err != nil {
		return nil, false, err
	}
	s = &Secret{Current: pem}
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(id),
		Description:  aws.String("Skyport publisher Ed25519 signing key"),
		SecretString: aws.String(s.String()),
	})
	var exists *smtypes.ResourceExistsException
	switch {
	case errors.As(err, &exists):
		s, err = ReadSecret(ctx, sm, id)
		return s, false, err
	case err != nil:
		return nil, false, fmt.Errorf("creating secret %s: %w", id, err)
	}
	return s, true, nil
}
