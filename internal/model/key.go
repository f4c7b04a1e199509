package model

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
)

// KeySet groups keys (kong/db/schema/entities/key_sets.lua).
type KeySet struct {
	Base
	// Name is unique and optional.
	Name *string `json:"name"`
}

// Kind implements Entity.
func (*KeySet) Kind() Kind { return KindKeySet }

// References implements Entity.
func (*KeySet) References() []Reference { return nil }

// UniqueKeys implements Entity.
func (s *KeySet) UniqueKeys() []UniqueKey { return uniques("name", deref(s.Name)) }

// Normalize implements Entity.
func (*KeySet) Normalize() {}

// Validate implements Entity.
func (s *KeySet) Validate() error {
	f := FieldErrors{}
	checkBase(f, &s.Base)
	if s.Name != nil {
		checkRequired(f, "name", *s.Name)
		checkMaxLength(f, "name", *s.Name)
	}
	return f.Err()
}

// PEMKeys is a key's PEM pair (Kong's pem typedef).
type PEMKeys struct {
	PrivateKey *string `json:"private_key"`
	PublicKey  *string `json:"public_key"`
}

// Key is a JWK or PEM key, optionally in a key set
// (kong/db/schema/entities/keys.lua).
type Key struct {
	Base
	// Set is the key set the key belongs to.
	Set *Ref `json:"set"`
	// Name is unique and optional.
	Name *string `json:"name"`
	// KID identifies the key; unique within its set.
	KID string `json:"kid"`
	// JWK is a JSON Web Key, as a JSON string; its kid must equal KID.
	JWK *string `json:"jwk"`
	// PEM is a PEM public and/or private key.
	PEM *PEMKeys `json:"pem"`
}

// Kind implements Entity.
func (*Key) Kind() Kind { return KindKey }

// References implements Entity.
func (k *Key) References() []Reference { return refs("set", KindKeySet, k.Set) }

// UniqueKeys implements Entity: the name, and Kong's cache key (kid and
// set), which its database keeps unique.
func (k *Key) UniqueKeys() []UniqueKey {
	set := ""
	if k.Set != nil {
		set = k.Set.ID
	}
	return uniques("name", deref(k.Name), "cache_key", set+":"+k.KID)
}

// Normalize implements Entity.
func (*Key) Normalize() {}

// Validate implements Entity, with the keys schema's entity checks.
func (k *Key) Validate() error {
	f := FieldErrors{}
	checkBase(f, &k.Base)
	if k.Name != nil {
		checkRequired(f, "name", *k.Name)
		checkMaxLength(f, "name", *k.Name)
	}
	if checkRequired(f, "kid", k.KID) {
		checkMaxLength(f, "kid", k.KID)
	}
	if k.Set != nil && k.Set.ID != "" && !validUUID(k.Set.ID) {
		f.Add("set.id", msgUUID)
	}
	hasJWK, hasPEM := k.JWK != nil, k.PEM != nil
	switch {
	case hasJWK && hasPEM:
		f.Add("@entity", "only one or none of these fields must be set: 'jwk', 'pem'")
	case !hasJWK && !hasPEM:
		f.Add("@entity", "at least one of these fields must be non-empty: 'jwk', 'pem'")
	case hasJWK && k.KID != "" && !IsReference(*k.JWK):
		if msg := checkJWK(*k.JWK, k.KID); msg != "" {
			f.Add("@entity", msg)
		}
	case hasPEM:
		if msg := checkPEMKeys(k.PEM); msg != "" {
			f.Add("pem", msg)
		}
	}
	return f.Err()
}

// checkJWK is the keys schema's check of a JWK string.
func checkJWK(s, kid string) string {
	var jwk map[string]any
	if err := json.Unmarshal([]byte(s), &jwk); err != nil {
		return "could not json decode jwk string"
	}
	if v, _ := jwk["kid"].(string); v != kid {
		return "kid in jwk.kid must be equal to keys.kid"
	}
	kty, _ := jwk["kty"].(string)
	switch kty {
	case "RSA":
		if _, ok := jwk["n"].(string); !ok {
			return "could not load JWK, likely not a valid key"
		}
	case "EC", "OKP":
		if _, ok := jwk["x"].(string); !ok {
			return "could not load JWK, likely not a valid key"
		}
	case "oct":
		if _, ok := jwk["k"].(string); !ok {
			return "could not load JWK, likely not a valid key"
		}
	default:
		return "could not load JWK, likely not a valid key"
	}
	return ""
}

// checkPEMKeys is Kong's pem typedef check: at least one key, each
// loadable, and a public key that matches the private one.
func checkPEMKeys(p *PEMKeys) string {
	priv, pub := deref(p.PrivateKey), deref(p.PublicKey)
	if priv == "" && pub == "" {
		return "at least one of these fields must be non-empty: 'private_key', 'public_key'"
	}
	if IsReference(priv) || IsReference(pub) {
		return ""
	}
	var pubKey, privPub any
	if pub != "" {
		b, _ := pem.Decode([]byte(pub))
		if b == nil {
			return "could not load public key"
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			if k, err = x509.ParsePKCS1PublicKey(b.Bytes); err != nil {
				return "could not load public key"
			}
		}
		pubKey = k
	}
	if priv != "" {
		k, ok := parsePrivateKey(priv)
		if !ok {
			return "could not load private key"
		}
		privPub = k
	}
	if pubKey != nil && privPub != nil {
		if eq, ok := pubKey.(interface{ Equal(crypto any) bool }); !ok || !eq.Equal(privPub) {
			return "public key does not match private key"
		}
	}
	return ""
}

// parsePrivateKey loads a PEM private key and returns its public half.
func parsePrivateKey(s string) (any, bool) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, false
	}
	var k any
	var err error
	switch {
	case strings.Contains(b.Type, "RSA"):
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case strings.Contains(b.Type, "EC"):
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, false
	}
	switch v := k.(type) {
	case *rsa.PrivateKey:
		return &v.PublicKey, true
	case *ecdsa.PrivateKey:
		return &v.PublicKey, true
	case ed25519.PrivateKey:
		return v.Public(), true
	}
	return nil, false
}
