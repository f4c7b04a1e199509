package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/keygen"
)

// verifyKeyFile is the copy of the verify keys kept in --data-dir for
// `skyport dp --verify-key`.
const verifyKeyFile = "publisher.pub"

// embeddedKeys returns the signing key of the embedded backend, kept in
// --data-dir (publisher.key, created on first use), and its verify key.
func embeddedKeys(dataDir string) (ed25519.PrivateKey, ed25519.PublicKey, error) {
	pub, key, err := snapshot.EnsureKeyPair(dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing the signing key: %w", err)
	}
	return key, pub, nil
}

// awsKeys returns the signing key the backend keeps in Secrets Manager
// (the stack's secret, or one --create made) and the keys data planes
// trust, and writes those to --data-dir/publisher.pub for other data
// planes to pass as --verify-key. Nothing is read from --data-dir: a
// fresh one against an existing stack signs with the stack's key.
func awsKeys(ctx context.Context, cfg aws.Config, o *localOptions, log *slog.Logger) (ed25519.PrivateKey, ed25519.PublicKey, error) {
	sm := secretsmanager.NewFromConfig(cfg)
	var (
		s       *keygen.Secret
		created bool
		err     error
	)
	if o.Create {
		s, created, err = keygen.EnsureSecret(ctx, sm, o.SigningKeySecret)
	} else {
		s, err = keygen.ReadSecret(ctx, sm, o.SigningKeySecret)
	}
	if errors.Is(err, keygen.ErrNoSecret) {
		return nil, nil, fmt.Errorf("--signing-key-secret %s does not exist: pass the stack's signing-key secret, or --create to create it", o.SigningKeySecret)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--signing-key-secret: %w", err)
	}
	key, err := s.SigningKey()
	if err != nil {
		return nil, nil, fmt.Errorf("--signing-key-secret: %w", err)
	}
	ring := snapshot.KeyRing(s.VerifyKeys()...)
	log.Info("signing key from Secrets Manager", "secret", o.SigningKeySecret, "created", created,
		"key_id", keygen.KeyID(key.Public().(ed25519.PublicKey)), "verify_keys", len(s.VerifyKeys()))
	if err := writeVerifyKeys(o.DataDir, ring); err != nil {
		return nil, nil, err
	}
	return key, ring, nil
}

// writeVerifyKeys writes ring as PEM blocks to --data-dir/publisher.pub.
func writeVerifyKeys(dataDir string, ring ed25519.PublicKey) error {
	var out []byte
	for _, k := range snapshot.RingKeys(ring) {
		pem, err := snapshot.MarshalPublicKey(k)
		if err != nil {
			return err
		}
		out = append(out, pem...)
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(dataDir, verifyKeyFile), out, 0o644); err != nil {
		return fmt.Errorf("writing the verify keys: %w", err)
	}
	return nil
}
