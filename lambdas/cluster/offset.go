package cluster

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// An offset is the node id of the last row of the previous page, base64url
// encoded: opaque to clients, and the same for both registries.

func encodeOffset(nodeID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(nodeID))
}

// decodeOffset returns the node id after which a page starts; empty for
// the first page.
func decodeOffset(offset string) (string, error) {
	if offset == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(offset)
	if err != nil || len(raw) == 0 || len(raw) > MaxNodeIDLength || !utf8.Valid(raw) {
		return "", fmt.Errorf("decoding offset %q: %w", offset, ErrInvalidOffset)
	}
	return string(raw), nil
}
