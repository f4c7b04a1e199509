package model

import "slices"

// Clone returns a copy of c whose lists can be reordered (Sort) without
// touching c's; the entities themselves are shared.
func (c *Config) Clone() *Config {
	return &Config{
		Vaults:         slices.Clone(c.Vaults),
		CACertificates: slices.Clone(c.CACertificates),
		Certificates:   slices.Clone(c.Certificates),
		SNIs:           slices.Clone(c.SNIs),
		Services:       slices.Clone(c.Services),
		Routes:         slices.Clone(c.Routes),
		Consumers:      slices.Clone(c.Consumers),
		Upstreams:      slices.Clone(c.Upstreams),
		Targets:        slices.Clone(c.Targets),
		Plugins:        slices.Clone(c.Plugins),
		KeyAuths:       slices.Clone(c.KeyAuths),
		BasicAuths:     slices.Clone(c.BasicAuths),
		JWTSecrets:     slices.Clone(c.JWTSecrets),
		ACLs:           slices.Clone(c.ACLs),
		HMACAuths:      slices.Clone(c.HMACAuths),
		OAuth2s:        slices.Clone(c.OAuth2s),
		KeySets:        slices.Clone(c.KeySets),
		Keys:           slices.Clone(c.Keys),
	}
}
