package model

import "sort"

// Config is a whole configuration as a flat set of entities, references
// resolved to ids. It is what the declarative format normalizes to, what a
// snapshot carries and what the data plane compiles.
//
// A Config handed on (decoded, parsed, packed, a delta's result) is
// read-only: an entity is changed by replacing it, never by writing
// through its pointers. Deltas share their base's entities, and a packed
// Config (Pack) shares more: a *Ref is the id field of the entity it
// names, and equal []string fields are one array. Normalize and the
// defaults apply to entities not yet in one.
type Config struct {
	Vaults         []*Vault            `json:"vaults,omitempty"`
	CACertificates []*CACertificate    `json:"ca_certificates,omitempty"`
	Certificates   []*Certificate      `json:"certificates,omitempty"`
	SNIs           []*SNI              `json:"snis,omitempty"`
	Services       []*Service          `json:"services,omitempty"`
	Routes         []*Route            `json:"routes,omitempty"`
	Consumers      []*Consumer         `json:"consumers,omitempty"`
	Upstreams      []*Upstream         `json:"upstreams,omitempty"`
	Targets        []*Target           `json:"targets,omitempty"`
	Plugins        []*Plugin           `json:"plugins,omitempty"`
	KeyAuths       []*KeyAuth          `json:"keyauth_credentials,omitempty"`
	BasicAuths     []*BasicAuth        `json:"basicauth_credentials,omitempty"`
	JWTSecrets     []*JWTSecret        `json:"jwt_secrets,omitempty"`
	ACLs           []*ACL              `json:"acls,omitempty"`
	HMACAuths      []*HMACAuth         `json:"hmacauth_credentials,omitempty"`
	OAuth2s        []*OAuth2Credential `json:"oauth2_credentials,omitempty"`
	KeySets        []*KeySet           `json:"key_sets,omitempty"`
	Keys           []*Key              `json:"keys,omitempty"`
}

// Add appends e to the set.
func (c *Config) Add(e Entity) {
	switch v := e.(type) {
	case *CACertificate:
		c.CACertificates = append(c.CACertificates, v)
	case *Certificate:
		c.Certificates = append(c.Certificates, v)
	case *SNI:
		c.SNIs = append(c.SNIs, v)
	case *Service:
		c.Services = append(c.Services, v)
	case *Route:
		c.Routes = append(c.Routes, v)
	case *Consumer:
		c.Consumers = append(c.Consumers, v)
	case *Upstream:
		c.Upstreams = append(c.Upstreams, v)
	case *Target:
		c.Targets = append(c.Targets, v)
	case *Plugin:
		c.Plugins = append(c.Plugins, v)
	case *KeyAuth:
		c.KeyAuths = append(c.KeyAuths, v)
	case *BasicAuth:
		c.BasicAuths = append(c.BasicAuths, v)
	case *JWTSecret:
		c.JWTSecrets = append(c.JWTSecrets, v)
	case *ACL:
		c.ACLs = append(c.ACLs, v)
	case *HMACAuth:
		c.HMACAuths = append(c.HMACAuths, v)
	case *OAuth2Credential:
		c.OAuth2s = append(c.OAuth2s, v)
	case *KeySet:
		c.KeySets = append(c.KeySets, v)
	case *Key:
		c.Keys = append(c.Keys, v)
	case *Vault:
		c.Vaults = append(c.Vaults, v)
	}
}

// Each calls fn for every entity, kinds in dependency order (Kinds).
func (c *Config) Each(fn func(Entity)) {
	each(c.Vaults, fn)
	each(c.CACertificates, fn)
	each(c.Certificates, fn)
	each(c.SNIs, fn)
	each(c.Services, fn)
	each(c.Routes, fn)
	each(c.Consumers, fn)
	each(c.Upstreams, fn)
	each(c.Targets, fn)
	each(c.Plugins, fn)
	each(c.KeyAuths, fn)
	each(c.BasicAuths, fn)
	each(c.JWTSecrets, fn)
	each(c.ACLs, fn)
	each(c.HMACAuths, fn)
	each(c.OAuth2s, fn)
	each(c.KeySets, fn)
	each(c.Keys, fn)
}

func each[T Entity](list []T, fn func(Entity)) {
	for _, e := range list {
		fn(e)
	}
}

// Len returns the number of entities.
func (c *Config) Len() int {
	n := 0
	c.Each(func(Entity) { n++ })
	return n
}

// Empty reports whether the configuration has no entity.
func (c *Config) Empty() bool { return c.Len() == 0 }

// Sort orders every list by id, so that equal sets serialize equally.
func (c *Config) Sort() {
	sortByID(c.Vaults)
	sortByID(c.CACertificates)
	sortByID(c.Certificates)
	sortByID(c.SNIs)
	sortByID(c.Services)
	sortByID(c.Routes)
	sortByID(c.Consumers)
	sortByID(c.Upstreams)
	sortByID(c.Targets)
	sortByID(c.Plugins)
	sortByID(c.KeyAuths)
	sortByID(c.BasicAuths)
	sortByID(c.JWTSecrets)
	sortByID(c.ACLs)
	sortByID(c.HMACAuths)
	sortByID(c.OAuth2s)
	sortByID(c.KeySets)
	sortByID(c.Keys)
}

func sortByID[T Entity](list []T) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Meta().ID < list[j].Meta().ID })
}
