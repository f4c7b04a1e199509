package store

import (
	"encoding/base64"
	"slices"

	"github.com/skyport-gw/skyport/internal/model"
)

// EncodeOffset returns the opaque offset token that resumes a listing
// after the entity with id.
func EncodeOffset(id string) string {
	return base64.StdEncoding.EncodeToString([]byte(id))
}

// DecodeOffset returns the id an offset token resumes after, or a
// CodeInvalidOffset error.
func DecodeOffset(offset string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(offset)
	if err != nil || len(b) == 0 {
		return "", InvalidOffset(offset, "bad base64 encoding")
	}
	return string(b), nil
}

// Matches reports whether e passes the tags and parent filters of opts.
func (o ListOptions) Matches(e model.Entity) bool {
	if o.Parent != nil && !hasReference(e, *o.Parent) {
		return false
	}
	if o.Unique != nil && !slices.Contains(e.UniqueKeys(), *o.Unique) {
		return false
	}
	if len(o.Tags) == 0 {
		return true
	}
	tags := e.Meta().Tags
	for _, t := range o.Tags {
		has := slices.Contains(tags, t)
		if o.TagsAny && has {
			return true
		}
		if !o.TagsAny && !has {
			return false
		}
	}
	return !o.TagsAny
}

func hasReference(e model.Entity, p model.Reference) bool {
	for _, r := range e.References() {
		if r.Field == p.Field && r.ID == p.ID && (p.Kind == "" || r.Kind == p.Kind) {
			return true
		}
	}
	return false
}

// PageSize returns the effective page size of opts: 100 when unset,
// at most 1000.
func (o ListOptions) PageSize() int {
	switch {
	case o.Size <= 0:
		return 100
	case o.Size > 1000:
		return 1000
	}
	return o.Size
}
