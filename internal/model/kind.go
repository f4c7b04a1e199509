package model

import "fmt"

// Kind names an entity type, as Kong's DAO names it.
type Kind string

// The entity kinds, in dependency order: an entity only references kinds
// listed before it.
const (
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
)

// Kinds lists every kind in dependency order (referenced kinds first).
var Kinds = []Kind{
	KindCACertificate, KindCertificate, KindSNI, KindService, KindRoute,
	KindConsumer, KindUpstream, KindTarget, KindPlugin,
	KindKeyAuth, KindBasicAuth, KindJWT, KindACL,
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
}

var kindInfos = map[Kind]KindInfo{
	KindService:       {KindService, "services", "", "name", "services"},
	KindRoute:         {KindRoute, "routes", "routes", "name", "routes"},
	KindConsumer:      {KindConsumer, "consumers", "", "username", "consumers"},
	KindPlugin:        {KindPlugin, "plugins", "plugins", "", "plugins"},
	KindUpstream:      {KindUpstream, "upstreams", "", "name", "upstreams"},
	KindTarget:        {KindTarget, "", "targets", "target", "targets"},
	KindCertificate:   {KindCertificate, "certificates", "", "", "certificates"},
	KindSNI:           {KindSNI, "snis", "snis", "name", "snis"},
	KindCACertificate: {KindCACertificate, "ca_certificates", "", "", "ca_certificates"},
	KindKeyAuth:       {KindKeyAuth, "key-auths", "key-auth", "key", "keyauth_credentials"},
	KindBasicAuth:     {KindBasicAuth, "basic-auths", "basic-auth", "username", "basicauth_credentials"},
	KindJWT:           {KindJWT, "jwts", "jwt", "key", "jwt_secrets"},
	KindACL:           {KindACL, "acls", "acls", "", "acls"},
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
	}
	return nil, fmt.Errorf("unknown entity kind %q", k)
}
