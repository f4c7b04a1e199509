package model

// Base holds the fields every entity has.
type Base struct {
	// ID is a UUID, assigned on creation unless the client supplies one.
	ID string `json:"id,omitempty"`
	// CreatedAt is the creation time in Unix seconds.
	CreatedAt int64 `json:"created_at,omitempty"`
	// UpdatedAt is the last update time in Unix seconds.
	UpdatedAt int64 `json:"updated_at,omitempty"`
	// Tags are free-form labels used by the Admin API's tags filter.
	Tags []string `json:"tags"`
}

// Meta returns the common fields.
func (b *Base) Meta() *Base { return b }

// Ref is a reference to another entity, by id, as Kong serializes it:
// {"id": "…"}. The declarative format may also reference by name; it
// resolves names to ids during normalization.
type Ref struct {
	ID string `json:"id"`
}

// Entity is one configuration object.
type Entity interface {
	// Kind names the entity type.
	Kind() Kind
	// Meta returns the id, timestamps and tags.
	Meta() *Base
	// Normalize expands shorthands (a service's url) and canonicalizes
	// values (lowercased hosts, sorted sets) before validation.
	Normalize()
	// Validate checks the entity on its own (not its references); it
	// returns an *Error with code CodeSchemaViolation listing every bad field.
	Validate() error
	// References lists the entities this one points to.
	References() []Reference
	// UniqueKeys lists the values that must be unique across all entities
	// of this kind.
	UniqueKeys() []UniqueKey
}

// Reference is one foreign key of an entity.
type Reference struct {
	// Field is the entity's field name ("service").
	Field string
	// Kind is the referenced kind.
	Kind Kind
	// ID is the referenced entity's id.
	ID string
}

// UniqueKey is one value that must be unique among entities of a kind.
// Value already includes any scope (a target is unique per upstream, so its
// value is "<upstream id>:<target>").
type UniqueKey struct {
	// Field is the field name as Kong reports it in a unique violation.
	Field string
	// Value is the scoped, canonical value.
	Value string
}

func refs(pairs ...any) []Reference {
	var out []Reference
	for i := 0; i+2 < len(pairs)+1; i += 3 {
		r, _ := pairs[i+2].(*Ref)
		if r == nil || r.ID == "" {
			continue
		}
		out = append(out, Reference{Field: pairs[i].(string), Kind: pairs[i+1].(Kind), ID: r.ID})
	}
	return out
}

func uniques(pairs ...string) []UniqueKey {
	var out []UniqueKey
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		out = append(out, UniqueKey{Field: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// String returns a pointer to s, for optional fields.
func String(s string) *string { return &s }

// Bool returns a pointer to b, for optional fields.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to i, for optional fields.
func Int(i int) *int { return &i }
