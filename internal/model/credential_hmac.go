package model

import (
	"net/url"
	"strconv"
	"strings"
)

// HMACAuth is an hmac-auth credential of a consumer
// (kong/plugins/hmac-auth/daos.lua).
type HMACAuth struct {
	Base
	// Username is unique and names the credential in a request's
	// Authorization header.
	Username string `json:"username"`
	// Secret signs requests; generated when absent.
	Secret string `json:"secret"`
	// Consumer owns the credential.
	Consumer *Ref `json:"consumer"`
}

// Kind implements Entity.
func (*HMACAuth) Kind() Kind { return KindHMACAuth }

// References implements Entity.
func (c *HMACAuth) References() []Reference { return refs("consumer", KindConsumer, c.Consumer) }

// UniqueKeys implements Entity.
func (c *HMACAuth) UniqueKeys() []UniqueKey { return uniques("username", c.Username) }

// Normalize implements Entity: an absent secret is generated.
func (c *HMACAuth) Normalize() {
	if c.Secret == "" {
		c.Secret = RandomKey()
	}
}

// Validate implements Entity.
func (c *HMACAuth) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	if checkRequired(f, "username", c.Username) {
		checkMaxLength(f, "username", c.Username)
	}
	checkRef(f, "consumer", c.Consumer)
	return f.Err()
}

// OAuth2Credential is an oauth2 application of a consumer
// (kong/plugins/oauth2/daos.lua). Skyport stores it for Kong's clients;
// the oauth2 plugin itself needs data-plane writes and is not available.
type OAuth2Credential struct {
	Base
	// Name is the application's name.
	Name string `json:"name"`
	// ClientID is unique; generated when absent.
	ClientID string `json:"client_id"`
	// ClientSecret is generated when absent; stored hashed when
	// HashSecret is set.
	ClientSecret string `json:"client_secret"`
	// HashSecret stores ClientSecret hashed.
	HashSecret bool `json:"hash_secret"`
	// RedirectURIs are the application's redirect URIs.
	RedirectURIs []string `json:"redirect_uris"`
	// ClientType is "confidential" (default) or "public".
	ClientType string `json:"client_type"`
	// Consumer owns the credential.
	Consumer *Ref `json:"consumer"`
}

// NewOAuth2Credential returns an oauth2 credential with Kong's defaults.
func NewOAuth2Credential() *OAuth2Credential {
	return &OAuth2Credential{ClientType: "confidential"}
}

// Kind implements Entity.
func (*OAuth2Credential) Kind() Kind { return KindOAuth2 }

// References implements Entity.
func (c *OAuth2Credential) References() []Reference {
	return refs("consumer", KindConsumer, c.Consumer)
}

// UniqueKeys implements Entity.
func (c *OAuth2Credential) UniqueKeys() []UniqueKey { return uniques("client_id", c.ClientID) }

// Normalize implements Entity: an absent client id and secret are
// generated.
func (c *OAuth2Credential) Normalize() {
	if c.ClientID == "" {
		c.ClientID = RandomKey()
	}
	if c.ClientSecret == "" {
		c.ClientSecret = RandomKey()
	}
}

// Validate implements Entity.
func (c *OAuth2Credential) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	checkRequired(f, "name", c.Name)
	checkMaxLength(f, "client_id", c.ClientID)
	checkOneOf(f, "client_type", c.ClientType, "confidential", "public")
	for i, u := range c.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			f.Add(indexed("redirect_uris", i), msg)
		}
	}
	checkRef(f, "consumer", c.Consumer)
	return f.Err()
}

// checkRedirectURI is the oauth2 schema's validate_uri: a URI with a
// scheme and a host, and no fragment.
func checkRedirectURI(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "cannot parse '" + s + "'"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "fragment not allowed in '" + s + "'"
	}
	return ""
}

// indexed names element i of an array field as Kong's messages do,
// counting from 1: "paths.1".
func indexed(field string, i int) string { return field + "." + strconv.Itoa(i+1) }
