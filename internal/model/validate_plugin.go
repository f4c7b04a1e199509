package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// Plugin and consumer rules (kong/db/schema/entities/plugins.lua and
// consumers.lua).

var pluginProtocols = []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"}

// Normalize implements Entity.
func (p *Plugin) Normalize() {
	if p.Config == nil {
		p.Config = map[string]any{}
	}
}

// Validate implements Entity. The config is checked by the plugin's schema
// (pluginschema); on success p.Config is replaced by the normalized
// configuration, defaults filled in.
func (p *Plugin) Validate() error {
	f := FieldErrors{}
	checkBase(f, &p.Base)
	checkName(f, "instance_name", p.InstanceName)
	allowed := pluginProtocols
	if s, ok := pluginschema.Lookup(p.Name); ok && len(s.Protocols) > 0 {
		allowed = s.Protocols // the plugin's own protocols field (its schema.lua)
	}
	for i, proto := range p.Protocols {
		checkOneOf(f, fmt.Sprintf("protocols.%d", i+1), proto, allowed...)
	}
	if slices.Contains(p.Protocols, "") || len(p.Protocols) == 0 {
		f.Add("protocols", msgEmpty)
	}
	for _, r := range []struct {
		field string
		ref   *Ref
	}{{"service", p.Service}, {"route", p.Route}, {"consumer", p.Consumer}} {
		if r.ref != nil {
			checkRef(f, r.field, r.ref)
		}
	}
	if checkRequired(f, "name", p.Name) {
		cfg, errs, known := pluginschema.Normalize(p.Name, p.Config)
		switch {
		case !known:
			f.Add("name", UnsupportedPlugin(p.Name, pluginschema.Names()))
		case p.Consumer != nil && noConsumer(p.Name):
			// Authentication plugins identify the consumer; they cannot be
			// scoped to one (Kong: consumer = { eq = null }).
			f.Add("consumer", "value must be null")
		case len(errs) > 0:
			for k, v := range errs {
				f.Add(k, v)
			}
		default:
			if len(f) == 0 {
				p.Config = cfg
			}
		}
	}
	return f.Err()
}

// UnsupportedPlugin is the message for a plugin this deployment does not
// run: Kong says to add it to its 'plugins' property, which Skyport does
// not have, so the message names the plugins that can be configured.
func UnsupportedPlugin(name string, supported []string) string {
	if name == "oauth2" {
		// Kong's oauth2 plugin writes tokens and codes from the node that
		// proxies, which data planes cannot: Kong documents it as
		// incompatible with hybrid mode and DB-less.
		return fmt.Sprintf("plugin 'oauth2' is not supported: it is incompatible with hybrid mode "+
			"(data planes cannot write its tokens); oauth2 credentials are kept for Kong's clients; "+
			"supported plugins: %s", strings.Join(supported, ", "))
	}
	return fmt.Sprintf("plugin '%s' is not supported; supported plugins: %s", name, strings.Join(supported, ", "))
}

func noConsumer(name string) bool {
	s, ok := pluginschema.Lookup(name)
	return ok && s.NoConsumer
}

// Normalize implements Entity.
func (c *Consumer) Normalize() {}

// Validate implements Entity: at least one of username and custom_id.
func (c *Consumer) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	if deref(c.Username) == "" && deref(c.CustomID) == "" {
		f.Add("@entity", "at least one of these fields must be non-empty: 'custom_id', 'username'")
	}
	if c.Username != nil && *c.Username == "" {
		f.Add("username", msgEmpty)
	}
	if c.CustomID != nil && *c.CustomID == "" {
		f.Add("custom_id", msgEmpty)
	}
	checkMaxLength(f, "username", deref(c.Username))
	checkMaxLength(f, "custom_id", deref(c.CustomID))
	return f.Err()
}
