package delta

import (
	"encoding/json"
	"fmt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Decode decompresses and parses stored bytes without verifying them; use
// Open for anything received from elsewhere. A delta that decompresses to
// more than snapshot.MaxDecompressed bytes, names an unknown kind or an
// empty id, or has its revisions out of order, is refused with
// snapshot.ErrCorrupt.
func Decode(data []byte) (*Document, error) {
	raw, err := snapshot.Inflate(data, snapshot.MaxDecompressed)
	if err != nil {
		return nil, err
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", snapshot.ErrCorrupt, err)
	}
	if err := snapshot.CheckFormat(head.Format); err != nil {
		return nil, err
	}
	var doc Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", snapshot.ErrCorrupt, err)
	}
	if doc.Base < 1 || doc.Revision <= doc.Base {
		return nil, fmt.Errorf("%w: delta from revision %d to %d", snapshot.ErrCorrupt, doc.Base, doc.Revision)
	}
	for k, ids := range doc.Deletes {
		if !knownKind(k) {
			return nil, fmt.Errorf("%w: delta deletes unknown kind %q", snapshot.ErrCorrupt, k)
		}
		for _, id := range ids {
			if id == "" {
				return nil, fmt.Errorf("%w: delta deletes an empty %s id", snapshot.ErrCorrupt, k)
			}
		}
	}
	var bad error
	doc.Upserts.Each(func(e model.Entity) {
		if bad == nil && e.Meta().ID == "" {
			bad = fmt.Errorf("%w: delta upserts a %s without an id", snapshot.ErrCorrupt, e.Kind())
		}
	})
	if bad != nil {
		return nil, bad
	}
	return &doc, nil
}

func knownKind(k model.Kind) bool {
	for _, known := range model.Kinds {
		if k == known {
			return true
		}
	}
	return false
}
