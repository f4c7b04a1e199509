package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sampleConfig() model.Config {
	s1 := model.NewService()
	s1.ID, s1.Name, s1.Host = "b0000000-0000-4000-a000-000000000001", model.String("b"), "b.local"
	s2 := model.NewService()
	s2.ID, s2.Name, s2.Host = "a0000000-0000-4000-a000-000000000002", model.String("a"), "a.local"
	r := model.NewRoute()
	r.ID, r.Paths, r.Service = "c0000000-0000-4000-a000-000000000003", []string{"/"}, &model.Ref{ID: s1.ID}
	return model.Config{Services: []*model.Service{s1, s2}, Routes: []*model.Route{r}}
}

func sealed(t *testing.T, rev int64) ([]byte, snapshot.Pointer, ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: rev, Config: sampleConfig()}, priv, now)
	require.NoError(t, err)
	return data, ptr, pub, priv
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	data, ptr, pub, priv := sealed(t, 42)
	require.Equal(t, int64(42), ptr.Revision)
	require.Equal(t, snapshot.Key(42), ptr.Key)
	require.Equal(t, "snapshots/00000000000000000042.json.gz", ptr.Key)
	require.Equal(t, snapshot.Format, ptr.Format)
	require.Equal(t, int64(len(data)), ptr.Size)

	doc, err := snapshot.Open(data, ptr, pub)
	require.NoError(t, err)
	require.Equal(t, int64(42), doc.Revision)
	require.Equal(t, now.Format(time.RFC3339Nano), doc.CreatedAt)
	want := sampleConfig()
	want.Sort()
	require.Equal(t, want, doc.Config)

	// Encoding is deterministic: the opened document seals to the same bytes.
	again, ptr2, err := snapshot.Seal(doc, priv, now)
	require.NoError(t, err)
	require.Equal(t, data, again)
	require.Equal(t, ptr, ptr2)
	other := &snapshot.Document{Format: snapshot.Format, Revision: 42, CreatedAt: doc.CreatedAt, Config: sampleConfig()}
	enc, err := snapshot.Encode(other)
	require.NoError(t, err)
	require.Equal(t, data, enc)
}

func TestOpenErrors(t *testing.T) {
	data, ptr, pub, priv := sealed(t, 7)
	otherPub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x01

	// A document of an unknown format major, correctly signed.
	future := &snapshot.Document{Format: "2.0", Revision: 7, Config: sampleConfig()}
	futureData, futurePtr, err := snapshot.Seal(future, priv, now)
	require.NoError(t, err)
	futurePtr.Format = ""

	badSig := ptr
	sig := []byte(ptr.Signature)
	sig[0] ^= 0x01
	badSig.Signature = string(sig)
	wrongRev := ptr
	wrongRev.Revision = 8
	shortSize := ptr
	shortSize.Size--

	tests := []struct {
		desc string
		data []byte
		ptr  snapshot.Pointer
		pub  ed25519.PublicKey
		want error
	}{
		{"flipped byte", flipped, ptr, pub, snapshot.ErrDigest},
		{"truncated", data[:len(data)-1], ptr, pub, snapshot.ErrSize},
		{"size mismatch", data, shortSize, pub, snapshot.ErrSize},
		{"wrong key", data, ptr, otherPub, snapshot.ErrSignature},
		{"bad signature", data, badSig, pub, snapshot.ErrSignature},
		{"no key", data, ptr, nil, snapshot.ErrSignature},
		{"unknown format major", futureData, futurePtr, pub, snapshot.ErrFormat},
		{"revision mismatch", data, wrongRev, pub, snapshot.ErrRevision},
	}
	all := []error{snapshot.ErrDigest, snapshot.ErrSize, snapshot.ErrSignature, snapshot.ErrFormat,
		snapshot.ErrRevision, snapshot.ErrCorrupt}
	for _, tc := range tests {
		for name, open := range opens {
			t.Run(tc.desc+"/"+name, func(t *testing.T) {
				t.Parallel()
				doc, err := open(tc.data, tc.ptr, tc.pub)
				require.Nil(t, doc)
				require.ErrorIs(t, err, tc.want)
				for _, other := range all {
					if other != tc.want {
						require.False(t, errors.Is(err, other), "%v is also %v", err, other)
					}
				}
			})
		}
	}
}

// opens are Open and OpenPacked, which must agree on every document.
var opens = map[string]func([]byte, snapshot.Pointer, ed25519.PublicKey) (*snapshot.Document, error){
	"whole": snapshot.Open, "stream": snapshot.OpenPacked,
}

func TestDecodeErrors(t *testing.T) {
	gz := func(s string) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return buf.Bytes()
	}
	tests := []struct {
		desc string
		data []byte
		want error
	}{
		{"not gzip", []byte("hello"), snapshot.ErrCorrupt},
		{"not json", gz("{"), snapshot.ErrCorrupt},
		{"no format", gz(`{"revision":1}`), snapshot.ErrFormat},
		{"format 0", gz(`{"format":"0.9","revision":1}`), snapshot.ErrFormat},
		{"bad entity", gz(`{"format":"1.0","services":{}}`), snapshot.ErrCorrupt},
		{"bad entity field", gz(`{"format":"1.0","services":[{"port":"x"}]}`), snapshot.ErrCorrupt},
		{"trailing data", gz(`{"format":"1.0","revision":1} {}`), snapshot.ErrCorrupt},
		{"not an object", gz(`[]`), snapshot.ErrCorrupt},
	}
	for _, tc := range tests {
		for name, decode := range decoders {
			t.Run(tc.desc+"/"+name, func(t *testing.T) {
				t.Parallel()
				_, err := decode(tc.data, snapshot.MaxDecompressed)
				require.ErrorIs(t, err, tc.want)
			})
		}
	}
	for name, decode := range decoders {
		doc, err := decode(gz(`{"format":"1.7","revision":3,"unknown":{"a":[1]}}`), snapshot.MaxDecompressed)
		require.NoError(t, err, name)
		require.Equal(t, int64(3), doc.Revision, name)
		// Whitespace between tokens goes, whitespace in strings stays
		// (escaped quotes and backslashes included).
		doc, err = decode(gz("{ \"format\" :\t\"1.0\",\n\n  \"services\": [ {\"id\": \"s1\", "+
			"\"name\": \"a  \\\"  b\\\\\", \"host\":\"h  \\\\\" } ]  }  \n"), snapshot.MaxDecompressed)
		require.NoError(t, err, name)
		require.Len(t, doc.Services, 1, name)
		require.Equal(t, `a  "  b\`, *doc.Services[0].Name, name)
		require.Equal(t, `h  \`, doc.Services[0].Host, name)
	}
}

// TestOpenPackedEqualsOpen decodes one sealed document both ways: the
// same document, every entity the same.
func TestOpenPackedEqualsOpen(t *testing.T) {
	t.Parallel()
	cfg := sampleConfig()
	co := &model.Consumer{Username: model.String("alice"), CustomID: model.String("c-1")}
	co.ID = "d0000000-0000-4000-a000-000000000004"
	cred := &model.KeyAuth{Key: "secret-key-of-alice", Consumer: &model.Ref{ID: co.ID}}
	cred.ID, cred.Tags = "e0000000-0000-4000-a000-000000000005", []string{"team-a", "x"}
	cfg.Consumers, cfg.KeyAuths = []*model.Consumer{co}, []*model.KeyAuth{cred}
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	data, ptr, err := snapshot.Seal(&snapshot.Document{ClusterID: "4f1b6a52-2c41-4d5e-9a0b-0c3d2e1f4a5b", Epoch: 2,
		Revision: 7, Config: cfg}, priv, now)
	require.NoError(t, err)
	whole, err := snapshot.Open(data, ptr, pub)
	require.NoError(t, err)
	require.NotZero(t, whole.Config.Len())
	stream, err := snapshot.OpenPacked(data, ptr, pub)
	require.NoError(t, err)
	want, err := json.Marshal(whole)
	require.NoError(t, err)
	got, err := json.Marshal(stream)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.Equal(t, whole.Identity(), stream.Identity())
	require.Equal(t, snapshot.ConfigHash(&whole.Config), snapshot.ConfigHash(&stream.Config))
	// DecodePacked, which verifies nothing, decodes the same.
	unverified, err := snapshot.DecodePacked(data)
	require.NoError(t, err)
	got, err = json.Marshal(unverified)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestConfigHash(t *testing.T) {
	t.Parallel()
	require.Equal(t, strings.Repeat("0", 32), snapshot.ConfigHash(nil))
	require.Equal(t, strings.Repeat("0", 32), snapshot.ConfigHash(&model.Config{}))

	a := sampleConfig()
	h := snapshot.ConfigHash(&a)
	require.Len(t, h, 32)
	require.Regexp(t, "^[0-9a-f]{32}$", h)

	b := sampleConfig()
	b.Services[0], b.Services[1] = b.Services[1], b.Services[0]
	first := b.Services[0]
	require.Equal(t, h, snapshot.ConfigHash(&b), "hash must not depend on entity order")
	require.Same(t, first, b.Services[0], "hashing must not reorder the caller's lists")

	c := sampleConfig()
	c.Services[0].Port = 81
	require.NotEqual(t, h, snapshot.ConfigHash(&c))

	// The contract, computed another way: the sum modulo 2^256 of every
	// entity's SHA-256(kind, 0, SHA-256(JSON)), then SHA-256 of that sum
	// (32 bytes, little-endian) and the count (8 bytes, big-endian).
	whole := sampleConfig()
	total, n := new(big.Int), 0
	whole.Each(func(e model.Entity) {
		raw, err := json.Marshal(e)
		require.NoError(t, err)
		js := sha256.Sum256(raw)
		term := sha256.Sum256(append(append([]byte(e.Kind()), 0), js[:]...))
		slices.Reverse(term[:]) // the terms are little-endian numbers
		total.Add(total, new(big.Int).SetBytes(term[:]))
		n++
	})
	total.Mod(total, new(big.Int).Lsh(big.NewInt(1), 256))
	var buf [40]byte
	total.FillBytes(buf[:32])
	slices.Reverse(buf[:32])
	binary.BigEndian.PutUint64(buf[32:], uint64(n))
	sum := sha256.Sum256(buf[:])
	require.Equal(t, hex.EncodeToString(sum[:16]), h)
}

// TestDigestUpdates: a digest updated entity by entity (an entity
// replaced, one removed, one added) equals the digest of the result.
func TestDigestUpdates(t *testing.T) {
	t.Parallel()
	a := sampleConfig()
	d, err := snapshot.DigestOf(&a)
	require.NoError(t, err)

	b := sampleConfig()
	changed := *b.Services[0]
	changed.Port = 9443
	require.NoError(t, d.Remove(a.Services[0]))
	require.NoError(t, d.Add(&changed))
	b.Services[0] = &changed
	gone := b.Services[1]
	require.NoError(t, d.Remove(gone))
	b.Services = slices.Delete(b.Services, 1, 2)
	extra := &model.Consumer{Base: model.Base{ID: "c0000000-0000-4000-a000-000000000009"}, Username: model.String("extra")}
	require.NoError(t, d.Add(extra))
	b.Add(extra)

	require.Equal(t, snapshot.ConfigHash(&b), d.Hash())
	require.Equal(t, int64(b.Len()), d.Len())
	require.NotEqual(t, snapshot.ConfigHash(&a), d.Hash())
}

func TestPointerJSON(t *testing.T) {
	t.Parallel()
	_, ptr, _, _ := sealed(t, 1)
	raw, err := json.Marshal(ptr)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for _, k := range []string{"revision", "key", "sha256", "size", "signature", "published_at", "format"} {
		require.Contains(t, m, k)
	}
}

// TestEncodeIsMarshal: written an entity at a time, the stored JSON is
// still json.Marshal's bytes of the document, so equal documents keep
// encoding to equal bytes across releases.
func TestEncodeIsMarshal(t *testing.T) {
	t.Parallel()
	full := sampleConfig()
	tests := []struct {
		desc string
		doc  snapshot.Document
	}{
		{"empty, no identity", snapshot.Document{Format: snapshot.Format, Revision: 1, CreatedAt: "2026-01-01T00:00:00Z"}},
		{"entities and identity", snapshot.Document{Format: snapshot.Format, Revision: 9, CreatedAt: "2026-01-01T00:00:00Z",
			ClusterID: "4f1b6a52-2c41-4d5e-9a0b-0c3d2e1f4a5b", Epoch: 2, Config: full}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			data, err := snapshot.Encode(&tc.doc)
			require.NoError(t, err)
			zr, err := gzip.NewReader(bytes.NewReader(data))
			require.NoError(t, err)
			got, err := io.ReadAll(zr)
			require.NoError(t, err)
			want, err := json.Marshal(&tc.doc)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}
