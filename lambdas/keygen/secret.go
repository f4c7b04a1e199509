package keygen

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// ErrSecret reports a signing-key secret that holds no usable key.
var ErrSecret = errors.New("signing-key secret holds no usable key")

// maxSecret bounds the secret value read (three PEM keys are ~400 bytes).
const maxSecret = 16 << 10

// Secret is the signing-key secret's value. The publisher signs with
// Current; during a rotation the secret also holds Next (published to data
// planes before it signs anything) or Previous (still trusted by data
// planes until the rotation is retired). Each is a PKCS #8 PEM Ed25519
// private key. Stored as JSON; a secret holding a bare PEM (stacks created
// before rotation existed) reads as Current alone.
type Secret struct {
	Current  string `json:"current"`
	Next     string `json:"next,omitempty"`
	Previous string `json:"previous,omitempty"`
}

// ParseSecret reads a secret value: the JSON form or a bare PEM key. It
// checks every key it holds; no key material appears in its errors.
func ParseSecret(value string) (*Secret, error) {
	if len(value) > maxSecret {
		return nil, fmt.Errorf("%w: %d bytes", ErrSecret, len(value))
	}
	value = strings.TrimSpace(value)
	var s Secret
	if strings.HasPrefix(value, "{") {
		if err := json.Unmarshal([]byte(value), &s); err != nil {
			return nil, fmt.Errorf("%w: not JSON", ErrSecret)
		}
	} else {
		s.Current = value
	}
	if s.Current == "" {
		return nil, fmt.Errorf("%w: no current key", ErrSecret)
	}
	for name, pem := range map[string]string{"current": s.Current, "next": s.Next, "previous": s.Previous} {
		if pem == "" {
			continue
		}
		if _, err := snapshot.ParsePrivateKey([]byte(pem)); err != nil {
			return nil, fmt.Errorf("%w: the %s key is not an Ed25519 private key", ErrSecret, name)
		}
	}
	return &s, nil
}

// String returns the secret's stored form.
func (s *Secret) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// SigningKey returns the key the publisher signs with.
func (s *Secret) SigningKey() (ed25519.PrivateKey, error) {
	k, err := snapshot.ParsePrivateKey([]byte(s.Current))
	if err != nil {
		return nil, fmt.Errorf("%w: the current key is not an Ed25519 private key", ErrSecret)
	}
	return k, nil
}

// VerifyKeys returns the public keys data planes trust: the current key
// first, then the next or previous one during a rotation.
func (s *Secret) VerifyKeys() []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, pem := range []string{s.Current, s.Next, s.Previous} {
		if k, err := snapshot.ParsePrivateKey([]byte(pem)); err == nil && pem != "" {
			out = append(out, k.Public().(ed25519.PublicKey))
		}
	}
	return out
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// JoinKeys writes public keys as --verify-key takes them: base64,
// comma-separated.
func JoinKeys(keys []ed25519.PublicKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = base64.StdEncoding.EncodeToString(k)
	}
	return strings.Join(parts, ",")
}

func newKeyPEM() (string, error) {
	_, priv, err := snapshot.GenerateKey()
	if err != nil {
		return "", err
	}
	pem, err := snapshot.MarshalPrivateKey(priv)
	if err != nil {
		return "", err
	}
	return string(pem), nil
}
