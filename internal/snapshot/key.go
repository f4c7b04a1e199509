package snapshot

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// ErrKey reports a key that cannot be parsed.
var ErrKey = errors.New("invalid Ed25519 key")

// GenerateKey returns a new signing key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	return pub, priv, nil
}

// MarshalPrivateKey returns the PKCS #8 PEM of key.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshalling private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey returns the PKIX PEM of key.
func MarshalPublicKey(key ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshalling public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a PKCS #8 PEM or a base64 seed or key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	if b, _ := pem.Decode(data); b != nil {
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKey, err)
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: not an Ed25519 key", ErrKey)
		}
		return ek, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: neither PEM nor base64", ErrKey)
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("%w: %d bytes", ErrKey, len(raw))
}

// ParsePublicKey reads a PKIX PEM or a base64 raw key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if b, _ := pem.Decode(data); b != nil {
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKey, err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: not an Ed25519 key", ErrKey)
		}
		return ek, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: neither PEM nor a base64 32-byte key", ErrKey)
	}
	return ed25519.PublicKey(raw), nil
}

// MaxVerifyKeys bounds how many public keys one verify key may hold: the
// current key and, during a rotation, the next or previous one.
const MaxVerifyKeys = 4

// maxKeyFile bounds a verify-key file read.
const maxKeyFile = 64 << 10

// KeyRing joins public keys into one verify key: the keys end to end.
// Verify accepts a signature made by any of them, which is how data planes
// trust the old and the new publisher key while it rotates.
func KeyRing(keys ...ed25519.PublicKey) ed25519.PublicKey {
	var ring ed25519.PublicKey
	for _, k := range keys {
		ring = append(ring, k...)
	}
	return ring
}

// RingKeys splits a verify key into its public keys; nil when it is not
// one to MaxVerifyKeys whole Ed25519 keys.
func RingKeys(ring ed25519.PublicKey) []ed25519.PublicKey {
	n := len(ring) / ed25519.PublicKeySize
	if n == 0 || n > MaxVerifyKeys || len(ring)%ed25519.PublicKeySize != 0 {
		return nil
	}
	out := make([]ed25519.PublicKey, n)
	for i := range out {
		out[i] = ring[i*ed25519.PublicKeySize : (i+1)*ed25519.PublicKeySize]
	}
	return out
}

// ParsePublicKeys reads one or more public keys, as a key ring: PKIX PEM
// blocks one after another, or base64 raw keys separated by commas or
// white space (the stack's VerifyKey output).
func ParsePublicKeys(data []byte) (ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	if b, rest := pem.Decode(data); b != nil {
		for ; b != nil; b, rest = pem.Decode(rest) {
			k, err := ParsePublicKey(pem.EncodeToMemory(b))
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, fmt.Errorf("%w: text after the last PEM block", ErrKey)
		}
	} else {
		for _, f := range strings.FieldsFunc(string(data), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			k, err := ParsePublicKey([]byte(f))
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 || len(keys) > MaxVerifyKeys {
		return nil, fmt.Errorf("%w: %d keys, want 1 to %d", ErrKey, len(keys), MaxVerifyKeys)
	}
	return KeyRing(keys...), nil
}

// LoadPublicKey takes a file name or the keys themselves (PEM or base64,
// one or more; see ParsePublicKeys), as --verify-key does, and returns a
// key ring.
func LoadPublicKey(fileOrKey string) (ed25519.PublicKey, error) {
	if k, err := ParsePublicKeys([]byte(fileOrKey)); err == nil {
		return k, nil
	}
	f, err := os.Open(fileOrKey)
	if err != nil {
		return nil, fmt.Errorf("reading verify key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading verify key: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKey, fileOrKey, maxKeyFile)
	}
	return ParsePublicKeys(data)
}

// LoadPrivateKey takes a file name or the key itself (PEM or base64).
func LoadPrivateKey(fileOrKey string) (ed25519.PrivateKey, error) {
	if k, err := ParsePrivateKey([]byte(fileOrKey)); err == nil {
		return k, nil
	}
	data, err := os.ReadFile(fileOrKey)
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	return ParsePrivateKey(data)
}

// EnsureKeyPair loads dir/publisher.key and dir/publisher.pub, creating
// them (mode 0600 and 0644, written atomically) on first use.
func EnsureKeyPair(dir string) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	privPath := filepath.Join(dir, "publisher.key")
	pubPath := filepath.Join(dir, "publisher.pub")
	if data, err := os.ReadFile(privPath); err == nil {
		priv, err := ParsePrivateKey(data)
		if err != nil {
			return nil, nil, fmt.Errorf("loading %s: %w", privPath, err)
		}
		pub := priv.Public().(ed25519.PublicKey)
		if _, err := os.Stat(pubPath); err != nil {
			pemPub, _ := MarshalPublicKey(pub)
			if err := WriteFileAtomic(pubPath, pemPub, 0o644); err != nil {
				return nil, nil, err
			}
		}
		return pub, priv, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("reading %s: %w", privPath, err)
	}
	pub, priv, err := GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	pemPriv, err := MarshalPrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pemPub, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := WriteFileAtomic(privPath, pemPriv, 0o600); err != nil {
		return nil, nil, err
	}
	if err := WriteFileAtomic(pubPath, pemPub, 0o644); err != nil {
		return nil, nil, err
	}
	return pub, priv, nil
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it,
// renames it over path and syncs the directory, so a crash leaves either
// the old file or the new one.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
