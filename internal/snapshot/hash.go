package snapshot

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// emptyHash is the hash of the empty configuration.
var emptyHash = strings.Repeat("0", 32)

// ConfigHash is the 32-hex hash of a configuration that a data plane
// reports (Kong's contract); the empty configuration hashes to 32 zeros.
// It is Digest's hash over every entity: independent of the order of the
// lists, and updated entity by entity when a delta applies.
func ConfigHash(cfg *model.Config) string {
	d, err := DigestOf(cfg)
	if err != nil {
		return emptyHash
	}
	return d.Hash()
}

// Digest is a configuration's hash kept so that it can be updated one
// entity at a time: the sum, modulo 2^256, of every entity's
// EntityDigest, and the number of entities. Adding then removing an
// entity gives back the digest before, so a data plane that applies a
// delta updates the running configuration's digest with the entities
// the delta replaces and brings, never re-encoding the others.
type Digest struct {
	sum [4]uint64 // little-endian limbs of a 256-bit number
	n   int64
}

// DigestOf returns the digest of every entity of cfg (nil is empty).
func DigestOf(cfg *model.Config) (Digest, error) {
	var d Digest
	if cfg == nil {
		return d, nil
	}
	var err error
	cfg.Each(func(e model.Entity) {
		if err == nil {
			err = d.Add(e)
		}
	})
	return d, err
}

// Add counts e in the digest.
func (d *Digest) Add(e model.Entity) error {
	term, err := EntityDigest(e)
	if err != nil {
		return err
	}
	d.AddDigest(term)
	return nil
}

// Remove takes e, counted before, out of the digest.
func (d *Digest) Remove(e model.Entity) error {
	term, err := EntityDigest(e)
	if err != nil {
		return err
	}
	d.RemoveDigest(term)
	return nil
}

// AddDigest counts an entity by its EntityDigest.
func (d *Digest) AddDigest(term [sha256.Size]byte) {
	var carry uint64
	for i := range d.sum {
		d.sum[i], carry = bits.Add64(d.sum[i], binary.LittleEndian.Uint64(term[i*8:]), carry)
	}
	d.n++
}

// RemoveDigest takes an entity out by its EntityDigest.
func (d *Digest) RemoveDigest(term [sha256.Size]byte) {
	var borrow uint64
	for i := range d.sum {
		d.sum[i], borrow = bits.Sub64(d.sum[i], binary.LittleEndian.Uint64(term[i*8:]), borrow)
	}
	d.n--
}

// Len is the number of entities counted.
func (d Digest) Len() int64 { return d.n }

// Hash returns the configuration hash: 32 zeros with no entity, else the
// first 16 bytes, in hex, of the SHA-256 of the sum (32 bytes,
// little-endian) followed by the count (8 bytes, big-endian).
func (d Digest) Hash() string {
	if d.n == 0 {
		return emptyHash
	}
	var buf [40]byte
	for i, limb := range d.sum {
		binary.LittleEndian.PutUint64(buf[i*8:], limb)
	}
	binary.BigEndian.PutUint64(buf[32:], uint64(d.n))
	sum := sha256.Sum256(buf[:])
	return hex.EncodeToString(sum[:16])
}

// EntityDigest is one entity's term of a Digest: the SHA-256 of its kind,
// a zero byte, and the SHA-256 of its JSON encoding (json.Marshal's).
func EntityDigest(e model.Entity) ([sha256.Size]byte, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("hashing %s %s: %w", e.Kind(), e.Meta().ID, err)
	}
	return KindDigest(e.Kind(), sha256.Sum256(raw)), nil
}

// KindDigest is EntityDigest from the SHA-256 of the entity's JSON, for a
// reader that kept those (a publisher's delta index).
func KindDigest(kind model.Kind, jsonSum [sha256.Size]byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(jsonSum[:])
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
