// Package vault resolves Kong's vault references ({vault://env/NAME}) in
// plugin configurations and certificates (cert, key, cert_alt, key_alt)
// on the data plane, as Kong's env vault does
// (kong/vaults/env): the secret never travels in the snapshot, each data
// plane reads it from its own environment.
package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// ErrUnresolved is returned when a reference names no vault, or a secret
// the vault does not have.
var ErrUnresolved = errors.New("vault reference cannot be resolved")

// Lookup reads one environment variable (os.LookupEnv).
type Lookup func(name string) (string, bool)

// Resolve returns cfg with every reference in its plugins' configurations
// and its certificates replaced by the secret. Plugins and certificates
// without references are shared with cfg; the others are copies, so cfg
// is never changed. A reference names a
// vault by Kong's name ("env", with no prefix) or by a vault entity's
// prefix (with that vault's config).
func Resolve(cfg *model.Config, lookup Lookup) (*model.Config, error) {
	if lookup == nil || !hasReference(cfg) {
		return cfg, nil
	}
	vaults := map[string]*model.Vault{}
	for _, v := range cfg.Vaults {
		vaults[v.Prefix] = v
	}
	out := cfg.Clone()
	for i, p := range out.Plugins {
		if !containsReference(p.Config) {
			continue
		}
		resolved, err := resolveValue(p.Config, vaults, lookup)
		if err != nil {
			return nil, fmt.Errorf("plugin %s (%s): %w", p.Name, p.ID, err)
		}
		cp := *p
		cp.Config = resolved.(map[string]any)
		out.Plugins[i] = &cp
	}
	for i, c := range out.Certificates {
		if !certificateReference(c) {
			continue
		}
		cp := *c
		cp.CertAlt, cp.KeyAlt = copyString(c.CertAlt), copyString(c.KeyAlt)
		for _, field := range []*string{&cp.Cert, &cp.Key, cp.CertAlt, cp.KeyAlt} {
			if field == nil || !model.IsReference(*field) {
				continue
			}
			secret, err := Get(*field, vaults, lookup)
			if err != nil {
				return nil, fmt.Errorf("certificate %s: %w", c.ID, err)
			}
			*field = secret
		}
		out.Certificates[i] = &cp
	}
	return out, nil
}

func hasReference(cfg *model.Config) bool {
	for _, p := range cfg.Plugins {
		if containsReference(p.Config) {
			return true
		}
	}
	return slices.ContainsFunc(cfg.Certificates, certificateReference)
}

func copyString(s *string) *string {
	if s == nil {
		return nil
	}
	v := *s
	return &v
}

// certificateReference reports whether one of c's key material fields is
// a reference.
func certificateReference(c *model.Certificate) bool {
	return model.IsReference(c.Cert) || model.IsReference(c.Key) ||
		(c.CertAlt != nil && model.IsReference(*c.CertAlt)) || (c.KeyAlt != nil && model.IsReference(*c.KeyAlt))
}

func containsReference(v any) bool {
	switch t := v.(type) {
	case string:
		return model.IsReference(t)
	case map[string]any:
		for _, sub := range t {
			if containsReference(sub) {
				return true
			}
		}
	case []any:
		for _, sub := range t {
			if containsReference(sub) {
				return true
			}
		}
	}
	return false
}

// resolveValue copies v with its references resolved.
func resolveValue(v any, vaults map[string]*model.Vault, lookup Lookup) (any, error) {
	switch t := v.(type) {
	case string:
		if !model.IsReference(t) {
			return t, nil
		}
		return Get(t, vaults, lookup)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sub := range t {
			r, err := resolveValue(sub, vaults, lookup)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, sub := range t {
			r, err := resolveValue(sub, vaults, lookup)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// Get resolves one reference: {vault://<vault>/<resource>[/<key>]}. The
// env vault reads the variable named by the vault's config.prefix and
// the resource, dashes turned into underscores, upper-cased; with a key,
// the variable holds a JSON object and the key names one of its strings.
func Get(ref string, vaults map[string]*model.Vault, lookup Lookup) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(ref, "{"), "}"))
	if err != nil || u.Scheme != "vault" || u.Host == "" {
		return "", fmt.Errorf("%w: %s is not a vault reference", ErrUnresolved, ref)
	}
	prefix := ""
	if v, ok := vaults[u.Host]; ok {
		if v.Name != "env" {
			return "", fmt.Errorf("%w: %s: vault '%s' is not installed", ErrUnresolved, ref, v.Name)
		}
		if v.Config != nil && v.Config.Prefix != nil {
			prefix = *v.Config.Prefix
		}
	} else if u.Host != "env" {
		return "", fmt.Errorf("%w: %s: no vault with prefix '%s'", ErrUnresolved, ref, u.Host)
	}
	resource, key, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if resource == "" {
		return "", fmt.Errorf("%w: %s names no secret", ErrUnresolved, ref)
	}
	name := strings.ToUpper(strings.ReplaceAll(prefix+resource, "-", "_"))
	value, ok := lookup(name)
	if !ok {
		return "", fmt.Errorf("%w: %s: environment variable %s is not set", ErrUnresolved, ref, name)
	}
	if key == "" {
		return value, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(value), &obj); err != nil {
		return "", fmt.Errorf("%w: %s: environment variable %s is not a JSON object", ErrUnresolved, ref, name)
	}
	s, ok := obj[key].(string)
	if !ok {
		return "", fmt.Errorf("%w: %s: %s has no string %q", ErrUnresolved, ref, name, key)
	}
	return s, nil
}
