package model

import (
	"regexp"
	"strings"
)

// Vault configures a vault under a prefix, so that configuration values
// may read secrets by reference: {vault://<prefix>/<name>}
// (kong/db/schema/entities/vaults.lua). Skyport ships Kong's one OSS
// vault, "env", resolved on the data plane.
type Vault struct {
	Base
	// Prefix is unique: the host part of references to this vault.
	Prefix string `json:"prefix"`
	// Name is the vault implementation: "env".
	Name string `json:"name"`
	// Description is free text.
	Description *string `json:"description"`
	// Config is the vault implementation's configuration.
	Config *VaultConfig `json:"config"`
}

// VaultConfig is the env vault's configuration (kong/vaults/env/schema.lua).
type VaultConfig struct {
	// Prefix is put before the environment variable's name.
	Prefix *string `json:"prefix"`
}

// Vaults are the vault implementations Skyport ships (Kong's bundled OSS
// vaults).
var Vaults = []string{"env"}

// NewVault returns a vault; Normalize gives it its default config.
func NewVault() *Vault { return &Vault{} }

// Kind implements Entity.
func (*Vault) Kind() Kind { return KindVault }

// References implements Entity.
func (*Vault) References() []Reference { return nil }

// UniqueKeys implements Entity.
func (v *Vault) UniqueKeys() []UniqueKey { return uniques("prefix", v.Prefix) }

// Normalize implements Entity.
func (v *Vault) Normalize() {
	if v.Config == nil {
		v.Config = &VaultConfig{}
	}
}

// Kong's patterns: the vault prefix ([[^[a-z][a-z%d-]-[a-z%d]+$]]) and the
// env vault's variable prefix ([[^[%a_-][%a%d_-]*$]]).
var (
	vaultPrefix    = regexp.MustCompile(`^[a-z][a-z0-9-]*?[a-z0-9]+$`)
	envVaultPrefix = regexp.MustCompile(`^[A-Za-z_-][A-Za-z0-9_-]*$`)
)

// Validate implements Entity.
func (v *Vault) Validate() error {
	f := FieldErrors{}
	checkBase(f, &v.Base)
	if checkRequired(f, "prefix", v.Prefix) {
		switch {
		case !vaultPrefix.MatchString(v.Prefix) || len(v.Prefix) > 253:
			f.Add("prefix", "invalid value: "+v.Prefix)
		case contains(Vaults, v.Prefix):
			f.Add("prefix", "must not be one of: "+strings.Join(Vaults, ", "))
		}
	}
	if checkRequired(f, "name", v.Name) && !contains(Vaults, v.Name) {
		f.Add("name", "vault '"+v.Name+"' is not installed")
	}
	if v.Config != nil && v.Config.Prefix != nil && !envVaultPrefix.MatchString(*v.Config.Prefix) {
		f.Add("config.prefix", "invalid value: "+*v.Config.Prefix)
	}
	return f.Err()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// IsReference reports whether s is a vault reference, as Kong's
// kong.vault.is_reference tells: "{vault://…}".
func IsReference(s string) bool {
	return strings.HasPrefix(s, "{vault://") && strings.HasSuffix(s, "}")
}
