package model

// KeyAuth is a key-auth credential (an API key) of a consumer.
type KeyAuth struct {
	Base
	// Key is the API key; unique; generated when absent.
	Key string `json:"key"`
	// TTL in seconds after which the key expires; 0 never.
	TTL *int `json:"ttl,omitempty"`
	// Consumer owns the credential.
	Consumer *Ref `json:"consumer"`
}

// Kind implements Entity.
func (*KeyAuth) Kind() Kind { return KindKeyAuth }

// References implements Entity.
func (c *KeyAuth) References() []Reference { return refs("consumer", KindConsumer, c.Consumer) }

// UniqueKeys implements Entity.
func (c *KeyAuth) UniqueKeys() []UniqueKey { return uniques("key", c.Key) }

// BasicAuth is a basic-auth credential; Password is stored hashed.
type BasicAuth struct {
	Base
	// Username is unique.
	Username string `json:"username"`
	// Password is the hash once stored (see HashPassword); clients send
	// plain text.
	Password string `json:"password"`
	// Consumer owns the credential.
	Consumer *Ref `json:"consumer"`
}

// Kind implements Entity.
func (*BasicAuth) Kind() Kind { return KindBasicAuth }

// References implements Entity.
func (c *BasicAuth) References() []Reference { return refs("consumer", KindConsumer, c.Consumer) }

// UniqueKeys implements Entity.
func (c *BasicAuth) UniqueKeys() []UniqueKey { return uniques("username", c.Username) }

// JWTSecret is a jwt credential: the key (the iss claim by default) and
// the secret or public key that verifies tokens.
type JWTSecret struct {
	Base
	// Key identifies the credential in the token's key claim; unique;
	// generated when absent.
	Key string `json:"key"`
	// Secret is the HMAC secret; generated when absent.
	Secret string `json:"secret"`
	// Algorithm is HS256 (default), HS384, HS512, RS256 or ES256.
	Algorithm string `json:"algorithm"`
	// RSAPublicKey is the PEM public key for RS256 and ES256.
	RSAPublicKey *string `json:"rsa_public_key"`
	// Consumer owns the credential.
	Consumer *Ref `json:"consumer"`
}

// NewJWTSecret returns a jwt credential with Kong's defaults.
func NewJWTSecret() *JWTSecret { return &JWTSecret{Algorithm: "HS256"} }

// Kind implements Entity.
func (*JWTSecret) Kind() Kind { return KindJWT }

// References implements Entity.
func (c *JWTSecret) References() []Reference { return refs("consumer", KindConsumer, c.Consumer) }

// UniqueKeys implements Entity.
func (c *JWTSecret) UniqueKeys() []UniqueKey { return uniques("key", c.Key) }

// ACL puts a consumer in a group for the acl plugin.
type ACL struct {
	Base
	// Group is the group name.
	Group string `json:"group"`
	// Consumer is the member.
	Consumer *Ref `json:"consumer"`
}

// Kind implements Entity.
func (*ACL) Kind() Kind { return KindACL }

// References implements Entity.
func (c *ACL) References() []Reference { return refs("consumer", KindConsumer, c.Consumer) }

// UniqueKeys implements Entity: a consumer is in a group once.
func (c *ACL) UniqueKeys() []UniqueKey {
	if c.Consumer == nil {
		return nil
	}
	return uniques("group", c.Consumer.ID+":"+c.Group)
}
