package store

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
)

// The constructors below build the client errors both implementations
// return, with Kong's codes, messages and fields (kong/db/errors.lua).

// NotFound is the error for an absent entity looked up by id or by
// endpoint key.
func NotFound(k model.Kind, idOrKey string) *model.Error {
	if _, err := uuid.Parse(idOrKey); err == nil || k.Info().EndpointKey == "" {
		e := model.NewError(model.CodeNotFound, "could not find the entity with primary key '%s'", pretty(map[string]any{"id": idOrKey}))
		e.Fields = map[string]any{"id": idOrKey}
		return e
	}
	field := k.Info().EndpointKey
	e := model.NewError(model.CodeNotFound, "could not find the entity with '%s'", pretty(map[string]any{field: idOrKey}))
	e.Fields = map[string]any{field: idOrKey}
	return e
}

// PrimaryKeyViolation is the error for a create whose id exists.
func PrimaryKeyViolation(id string) *model.Error {
	e := model.NewError(model.CodePrimaryKeyViolation, "primary key violation on key '%s'", pretty(map[string]any{"id": id}))
	e.Fields = map[string]any{"id": id}
	return e
}

// UniqueViolation is the error for entity e whose unique key u is taken.
func UniqueViolation(e model.Entity, u model.UniqueKey) *model.Error {
	fields := uniqueFields(e, u)
	err := model.NewError(model.CodeUniqueViolation, "UNIQUE violation detected on '%s'", pretty(fields))
	err.Fields = fields
	return err
}

// uniqueFields spells a unique key as Kong does: the field and its value,
// plus the scope of scoped keys (a target's upstream, an acl's consumer, a
// plugin's service, route and consumer).
func uniqueFields(e model.Entity, u model.UniqueKey) map[string]any {
	ref := func(r *model.Ref) any {
		if r == nil {
			return nil
		}
		return map[string]any{"id": r.ID}
	}
	switch v := e.(type) {
	case *model.Target:
		return map[string]any{"target": v.Target, "upstream": ref(v.Upstream)}
	case *model.ACL:
		return map[string]any{"group": v.Group, "consumer": ref(v.Consumer)}
	case *model.Plugin:
		if u.Field == "scope" {
			return map[string]any{"name": v.Name, "service": ref(v.Service),
				"route": ref(v.Route), "consumer": ref(v.Consumer)}
		}
	}
	return map[string]any{u.Field: u.Value}
}

// ForeignKeyViolation is the error for a reference to an absent entity:
// "the foreign key '{id="…"}' does not reference an existing 'services'
// entity.", fields {"service": {"id": "…"}}.
func ForeignKeyViolation(r model.Reference) *model.Error {
	key := map[string]any{"id": r.ID}
	e := model.NewError(model.CodeForeignKeyViolation,
		"the foreign key '%s' does not reference an existing '%s' entity.", pretty(key), r.Kind)
	e.Fields = map[string]any{r.Field: key}
	return e
}

// ReferencedBy is the error for deleting an entity of kind parent that an
// entity of kind child (field field) still points to. Kong reports a
// restricting foreign key as a foreign key violation ("an existing
// 'routes' entity references this 'services' entity"), and a CA
// certificate still listed by a service as referenced by others.
func ReferencedBy(parent model.Kind, parentID string, child model.Kind, childID, field string) *model.Error {
	if parent == model.KindCACertificate {
		return model.NewError(model.CodeReferencedByOthers,
			"ca certificate %s is still referenced by %s (id = %s)", parentID, child, childID)
	}
	e := model.NewError(model.CodeForeignKeyViolation,
		"an existing '%s' entity references this '%s' entity", child, parent)
	e.Fields = map[string]any{"@referenced_by": string(child)}
	return e
}

// InvalidOffset is the error for an offset token that no page produced.
func InvalidOffset(offset, reason string) *model.Error {
	return model.NewError(model.CodeInvalidOffset, "'%s' is not a valid offset: %s", offset, reason)
}

// pretty writes a table as Kong's pl.pretty does on one line:
// {name="foo"}, {id="…"}, nested tables in braces, nil as null, keys sorted.
func pretty(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + prettyValue(m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func prettyValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any:
		return pretty(x)
	default:
		return fmt.Sprint(x)
	}
}
