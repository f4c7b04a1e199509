package snapshot

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// ConfigHash is the 32-hex hash of a configuration that a data plane
// reports (Kong's contract); the empty configuration hashes to 32 zeros.
// It is the first 16 bytes of the SHA-256 of the configuration's JSON
// with every list sorted by id, the bytes json.Marshal gives, written to
// the hash an entity at a time (model.Config.WriteJSON).
func ConfigHash(cfg *model.Config) string {
	if cfg == nil || cfg.Empty() {
		return strings.Repeat("0", 32)
	}
	c := cfg.Clone()
	c.Sort()
	h := sha256.New()
	w := bufio.NewWriterSize(h, 64<<10)
	if err := c.WriteJSON(w, true); err != nil || w.Flush() != nil {
		return strings.Repeat("0", 32)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
