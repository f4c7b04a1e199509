package model

import "fmt"

// Kind names an entity type, as Kong's DAO names it.
type Kind string

// The entity kinds, in dependency order: an entity only references kinds
// listed before it.
const (
	KindVault         Kind = "vaults"
	KindCACertificate Kind = "ca_certificates"
	KindCertificate   Kind = "certificates"
	KindSNI           Kind = "snis"
	KindService       Kind = "services"
	KindRoute         Kind = "routes"
	KindConsumer      Kind = "consumers"
	KindUpstream      Kind = "upstreams"
	KindTarget        Kind = "targets"
	KindPlugin        Kind = "plugins"
	KindKeyAuth       Kind = "keyauth_credentials"
	KindBasicAuth     Kind = "basicauth_credentials"
	KindJWT           Kind = "jwt_secrets"
	KindACL           Kind = "acls"
	KindHMACAuth      Kind = "hmacauth_credentials"
	KindOAuth2        Kind = "oauth2_credentials"
	KindKeySet        Kind = "key_sets"
	KindKey           Kind = "keys"
)

// Kinds lists every kind in dependency order (referenced kinds first).
var Kinds = []Kind{
	KindVault, KindCACertificate, KindCertificate, KindSNI, KindService, KindRoute,
	KindConsumer, KindUpstream, KindTarget, KindPlugin,
	KindKeyAuth, KindBasicAuth, KindJWT, KindACL, KindHMACAuth, KindOAuth2,
	KindKeySet, KindKey,
}

// KindInfo describes how a kind appears on Kong's Admin API.
type KindInfo struct {
	// Kind is the DAO name, also the key in kong.yml and in snapshots.
	Kind Kind
	// Collection is the Admin API collection path segment ("key-auths").
	Collection string
	// Nested is the path segment under a consumer or upstream ("key-auth",
	// "targets"); empty for top-level-only kinds.
	Nested string
	// EndpointKey is the unique field that may stand for the id in a path
	// ("name", "username", "key"); empty when only the id works.
	EndpointKey string
	// Schema is the name used by GET /schemas/{name}.
	Schema string
	// NestedKey is the field that stands for the id under the parent
	// only (an acl's group under its consumer); empty when none.
	NestedKey string
}

var kindInfos = map[Kind]KindInfo{
	KindService:       {KindService, "services", "", "name", "services", ""},
	KindRoute:         {KindRoute, "routes", "routes", "name", "routes", ""},
	KindConsumer:      {KindConsumer, "consumers", "", "username", "consumers", ""},
	KindPlugin:        {KindPlugin, "plugins", "plugins", "instance_name", "plugins", ""},
	KindUpstream:      {KindUpstream, "upstreams", "", "name", "upstreams", ""},
	KindTarget:        {KindTarget, "", "targets", "target", "targets", ""},
	KindCertificate:   {KindCertificate, "certificates", "", "", "certificates", ""},
	KindSNI:           {KindSNI, "snis", "snis", "name", "snis", ""},
	KindCACertificate: {KindCACertificate, "ca_certificates", "", "", "ca_certificates", ""},
	KindKeyAuth:       {KindKeyAuth, "key-auths", "key-auth", "key", "keyauth_credentials", ""},
	KindBasicAuth:     {KindBasicAuth, "basic-auths", "basic-auth", "username", "basicauth_credentials", ""},
	KindJWT:           {KindJWT, "jwts", "jwt", "key", "jwt_secrets", ""},
	KindACL:           {KindACL, "acls", "acls", "", "acls", "group"},
	KindHMACAuth:      {KindHMACAuth, "hmac-auths", "hmac-auth", "username", "hmacauth_credentials", ""},
	KindOAuth2:        {KindOAuth2, "oauth2", "oauth2", "client_id", "oauth2_credentials", ""},
	KindKeySet:        {KindKeySet, "key-sets", "", "name", "key_sets", ""},
	KindKey:           {KindKey, "keys", "keys", "name", "keys", ""},
	KindVault:         {KindVault, "vaults", "", "prefix", "vaults", ""},
}

// Info returns the Admin API description of k.
func (k Kind) Info() KindInfo { return kindInfos[k] }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kindInfos[k]; return ok }

// KindByCollection finds the kind served at an Admin API collection path
// segment ("services", "key-auths") or a nested one ("key-auth", "targets").
func KindByCollection(seg string) (Kind, bool) {
	for _, k := range Kinds {
		i := kindInfos[k]
		if i.Collection == seg || i.Nested == seg {
			return k, true
		}
	}
	return "", false
}

// New returns a new entity of kind k with Kong's defaults filled in and no id.
func New(k Kind) (Entity, error) {
	switch k {
	case KindService:
		return NewService(), nil
	case KindRoute:
		return NewRoute(), nil
	case KindConsumer:
		return &Consumer{}, nil
	case KindPlugin:
		return NewPlugin(), nil
	case KindUpstream:
		return NewUpstream(), nil
	case KindTarget:
		return NewTarget(), nil
	case KindCertificate:
		return &Certificate{}, nil
	case KindSNI:
		return &SNI{}, nil
	case KindCACertificate:
		return &CACertificate{}, nil
	case KindKeyAuth:
		return &KeyAuth{}, nil
	case KindBasicAuth:
		return &BasicAuth{}, nil
	case KindJWT:
		return NewJWTSecret(), nil
	case KindACL:
		return &ACL{}, nil
	case KindHMACAuth:
		return &HMACAuth{}, nil
	case KindOAuth2:
		return NewOAuth2Credential(), nil
	case KindKeySet:
		return &KeySet{}, nil
	case KindKey:
		return &Key{}, nil
	case KindVault:
		return NewVault(), nil
	}
	return nil, fmt.Errorf("unknown entity kind %q", k)
}
