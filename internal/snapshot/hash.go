package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"reflect"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// ConfigHash is the 32-hex hash of a configuration that a data plane
// reports (Kong's contract); the empty configuration hashes to 32 zeros.
// It is the first 16 bytes of the SHA-256 of the configuration's JSON
// with every list sorted by id, the bytes json.Marshal gives, written to
// the hash an entity at a time: a million entities never sit in one
// buffer (which encoding/json would keep pooled afterwards).
func ConfigHash(cfg *model.Config) string {
	if cfg == nil || cfg.Empty() {
		return strings.Repeat("0", 32)
	}
	c := cfg.Clone()
	c.Sort()
	h := sha256.New()
	if err := writeConfigJSON(h, c); err != nil {
		return strings.Repeat("0", 32)
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// configFields are model.Config's lists in field order with their JSON
// names; every one is omitempty.
var configFields = func() []struct {
	index int
	name  string
} {
	t := reflect.TypeFor[model.Config]()
	var out []struct {
		index int
		name  string
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, struct {
			index int
			name  string
		}{i, name})
	}
	return out
}()

// writeConfigJSON writes json.Marshal(c)'s bytes to h, one entity at a
// time.
func writeConfigJSON(h hash.Hash, c *model.Config) error {
	v := reflect.ValueOf(c).Elem()
	h.Write([]byte{'{'})
	first := true
	for _, f := range configFields {
		list := v.Field(f.index)
		if list.Len() == 0 {
			continue
		}
		if !first {
			h.Write([]byte{','})
		}
		first = false
		name, _ := json.Marshal(f.name)
		h.Write(name)
		h.Write([]byte(":["))
		for i := range list.Len() {
			if i > 0 {
				h.Write([]byte{','})
			}
			raw, err := json.Marshal(list.Index(i).Interface())
			if err != nil {
				return err
			}
			h.Write(raw)
		}
		h.Write([]byte{']'})
	}
	h.Write([]byte{'}'})
	return nil
}
