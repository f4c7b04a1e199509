package model

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
)

// Credential rules (kong/plugins/{key-auth,basic-auth,jwt,acl}/daos.lua).

// RandomKey returns 32 random hex characters, as Kong generates API keys
// and jwt secrets.
func RandomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Normalize implements Entity: an absent key is generated.
func (c *KeyAuth) Normalize() {
	if c.Key == "" {
		c.Key = RandomKey()
	}
}

// Validate implements Entity.
func (c *KeyAuth) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	checkRequired(f, "key", c.Key)
	checkMaxLength(f, "key", c.Key)
	if c.TTL != nil {
		checkBetween(f, "ttl", *c.TTL, 0, 100000000)
	}
	checkRef(f, "consumer", c.Consumer)
	return f.Err()
}

// Normalize implements Entity. The password is not hashed here: the
// Admin API and the declarative format hash a plain password when they
// store it (HashPassword), and keep one that already is a hash.
func (c *BasicAuth) Normalize() {}

// Validate implements Entity.
func (c *BasicAuth) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	checkRequired(f, "username", c.Username)
	checkMaxLength(f, "username", c.Username)
	checkRequired(f, "password", c.Password)
	checkRef(f, "consumer", c.Consumer)
	return f.Err()
}

// Normalize implements Entity: an absent key, and an absent secret for
// the HMAC algorithms, are generated.
func (c *JWTSecret) Normalize() {
	if c.Key == "" {
		c.Key = RandomKey()
	}
	if c.Secret == "" && strings.HasPrefix(c.Algorithm, "HS") {
		c.Secret = RandomKey()
	}
}

// Validate implements Entity.
func (c *JWTSecret) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	checkRequired(f, "key", c.Key)
	checkMaxLength(f, "key", c.Key)
	checkOneOf(f, "algorithm", c.Algorithm, "HS256", "HS384", "HS512", "RS256", "ES256")
	if c.Algorithm == "RS256" || c.Algorithm == "ES256" {
		switch {
		case c.RSAPublicKey == nil || *c.RSAPublicKey == "":
			f.Add("rsa_public_key", msgRequired)
		case !validPublicKey(*c.RSAPublicKey):
			f.Add("rsa_public_key", "invalid key")
		}
	}
	checkRef(f, "consumer", c.Consumer)
	return f.Err()
}

func validPublicKey(s string) bool {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return false
	}
	if _, err := x509.ParsePKIXPublicKey(b.Bytes); err == nil {
		return true
	}
	_, err := x509.ParsePKCS1PublicKey(b.Bytes)
	return err == nil
}

// Normalize implements Entity.
func (c *ACL) Normalize() {}

// Validate implements Entity.
func (c *ACL) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	checkRequired(f, "group", c.Group)
	checkMaxLength(f, "group", c.Group)
	checkRef(f, "consumer", c.Consumer)
	return f.Err()
}
