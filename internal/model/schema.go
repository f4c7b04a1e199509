package model

import (
	"embed"
	"encoding/json"
	"fmt"
)

// schemaFiles are the entity schemas as Kong 3.9.3's GET /schemas/{name}
// renders them (kong/api/routes/kong.lua schema_to_jsonable over
// kong/db/schema/entities/*.lua and the plugins' daos.lua), without Kong's
// field descriptions (a description says where Skyport behaves otherwise),
// and where Skyport accepts other values than Kong (see the README's Kong
// compatibility section) saying what Skyport accepts. Kong's clients fill defaults from them (decK, go-kong), so every
// default here is the one the model gives (schema_test.go checks it).
//
//go:embed schemas/*.json schemas/vaults/*.json
var schemaFiles embed.FS

// SchemaDoc is one schema document: "fields" is an array of one-key
// objects in Kong's order, "entity_checks" Kong's entity checks.
type SchemaDoc struct {
	Fields       []map[string]json.RawMessage `json:"fields"`
	EntityChecks []map[string]json.RawMessage `json:"entity_checks"`
}

// Schema returns the schema document of kind k, as the Admin API serves it.
func Schema(k Kind) ([]byte, error) {
	name := k.Info().Schema
	if name == "" {
		return nil, fmt.Errorf("no schema for kind %q", k)
	}
	b, err := schemaFiles.ReadFile("schemas/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("reading the schema of %s: %w", k, err)
	}
	return b, nil
}

// VaultSchema returns the schema document of the vault implementation
// name, as GET /schemas/vaults/{name} serves it; ok is false for a vault
// Skyport does not ship.
func VaultSchema(name string) (doc []byte, ok bool) {
	if !contains(Vaults, name) {
		return nil, false
	}
	b, err := schemaFiles.ReadFile("schemas/vaults/" + name + ".json")
	return b, err == nil
}
