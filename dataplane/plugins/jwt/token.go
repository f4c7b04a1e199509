package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

// token is a decoded, not yet verified, JWS compact token.
type token struct {
	header, claims map[string]any
	signingInput   string
	signature      []byte
}

var errMalformed = errors.New("invalid JSON")

// decode splits and decodes a compact token; the error text follows
// Kong's "Bad token; <reason>".
func decode(raw string) (*token, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("invalid token")
	}
	t := &token{signingInput: parts[0] + "." + parts[1]}
	if err := decodePart(parts[0], &t.header); err != nil {
		return nil, err
	}
	if err := decodePart(parts[1], &t.claims); err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return nil, errors.New("invalid signature encoding")
	}
	t.signature = sig
	if _, ok := t.header["alg"].(string); !ok {
		return nil, errors.New("invalid alg")
	}
	return t, nil
}

func decodePart(s string, dst *map[string]any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return errMalformed
	}
	if err := json.Unmarshal(b, dst); err != nil || *dst == nil {
		return errMalformed
	}
	return nil
}

// verifier checks a signature with one credential's key.
type verifier func(input string, sig []byte) bool

// newVerifier builds the verifier of one credential, once per snapshot.
// secret is the HMAC secret; pemKey the public key for RS256 and ES256.
func newVerifier(alg string, secret []byte, pemKey string) (verifier, error) {
	switch alg {
	case "HS256", "HS384", "HS512":
		h := hashFor(alg)
		return func(input string, sig []byte) bool {
			m := hmac.New(h, secret)
			m.Write([]byte(input))
			return subtle.ConstantTimeCompare(m.Sum(nil), sig) == 1
		}, nil
	case "RS256", "RS384", "RS512":
		pub, err := parsePublicKey(pemKey)
		if err != nil {
			return nil, err
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public key is not an RSA key")
		}
		h, ch := hashFor(alg), cryptoHash(alg)
		return func(input string, sig []byte) bool {
			d := h()
			d.Write([]byte(input))
			return rsa.VerifyPKCS1v15(rk, ch, d.Sum(nil), sig) == nil
		}, nil
	case "ES256", "ES384":
		pub, err := parsePublicKey(pemKey)
		if err != nil {
			return nil, err
		}
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, errors.New("public key is not an EC key")
		}
		h := hashFor(alg)
		size := (ek.Curve.Params().BitSize + 7) / 8
		return func(input string, sig []byte) bool {
			if len(sig) != 2*size {
				return false
			}
			d := h()
			d.Write([]byte(input))
			r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
			return ecdsa.Verify(ek, d.Sum(nil), r, s)
		}, nil
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}

func hashFor(alg string) func() hash.Hash {
	switch alg[2:] {
	case "384":
		return sha512.New384
	case "512":
		return sha512.New
	}
	return sha256.New
}

func cryptoHash(alg string) crypto.Hash {
	switch alg[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func parsePublicKey(pemKey string) (any, error) {
	block, _ := pem.Decode([]byte(pemKey))
	if block == nil {
		return nil, errors.New("public key is not PEM")
	}
	if block.Type == "RSA PUBLIC KEY" {
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	if block.Type == "CERTIFICATE" {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		return cert.PublicKey, nil
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}
