package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// fixtureID returns a random lowercase UUID (variant nibble a).
func fixtureID(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16)
}

// consumerWithKey returns a consumer and its key-auth credential.
func consumerWithKey(rng *rand.Rand, tag string) (*model.Consumer, *model.KeyAuth) {
	c := &model.Consumer{}
	c.ID, c.Username = fixtureID(rng), model.String("user-"+tag)
	k := &model.KeyAuth{Key: "key-" + tag, Consumer: &model.Ref{ID: c.ID}}
	k.ID = fixtureID(rng)
	return c, k
}

// bigConfig returns n consumers with a key each and a few services:
// lists of many segments, and short ones.
func bigConfig(rng *rand.Rand, n int) model.Config {
	cfg := sampleConfig()
	for i := range n {
		c, k := consumerWithKey(rng, fmt.Sprint(i))
		cfg.Consumers = append(cfg.Consumers, c)
		cfg.KeyAuths = append(cfg.KeyAuths, k)
	}
	cfg.Sort()
	return cfg
}

// members counts the gzip members of data.
func members(t *testing.T, data []byte) int {
	t.Helper()
	r := bytes.NewReader(data)
	zr, err := gzip.NewReader(r)
	require.NoError(t, err)
	n := 0
	for {
		zr.Multistream(false)
		_, err := io.Copy(io.Discard, zr)
		require.NoError(t, err)
		n++
		if err := zr.Reset(r); err == io.EOF {
			return n
		}
		require.NoError(t, err)
	}
}

// TestSegmentedEncodeIsMarshal: a configuration of many segments is
// stored as members, one gzip stream to a reader, whose bytes are
// json.Marshal's; Decode and DecodePacked read the same document.
func TestSegmentedEncodeIsMarshal(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	doc := snapshot.Document{Format: snapshot.Format, Revision: 3, CreatedAt: "2026-01-01T00:00:00Z", Config: bigConfig(rng, 5000)}
	data, err := snapshot.Encode(&doc)
	require.NoError(t, err)
	// The head, the tail, three lists, two of them of about 5000/SegmentMean segments each.
	require.Greater(t, members(t, data), 2+3+2*(5000/snapshot.SegmentMean)/2)
	requireMarshaled(t, &doc, data)

	whole, err := snapshot.Decode(data)
	require.NoError(t, err)
	packed, err := snapshot.DecodePacked(data)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(&doc.Config), snapshot.ConfigHash(&whole.Config))
	require.Equal(t, snapshot.ConfigHash(&doc.Config), snapshot.ConfigHash(&packed.Config))
	require.Len(t, packed.Consumers, 5000)
}

// TestSealReusingEqualsSeal: a seal reusing the members of an earlier
// one is the bytes and pointer a seal from scratch gives, and
// compresses again only the segments whose entities changed.
func TestSealReusingEqualsSeal(t *testing.T) {
	t.Parallel()
	_, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc string
		// change changes cfg (its lists copied, the entities replaced,
		// never changed in place) and returns at most how many
		// segments are compressed again.
		change func(rng *rand.Rand, cfg *model.Config) int
	}{
		{"nothing", func(*rand.Rand, *model.Config) int { return 0 }},
		{"a few entities replaced", func(rng *rand.Rand, cfg *model.Config) int {
			for range 5 {
				i := rng.IntN(len(cfg.Consumers))
				c := *cfg.Consumers[i]
				c.Username = model.String("changed")
				cfg.Consumers[i] = &c
			}
			return 5
		}},
		{"inserted and deleted", func(rng *rand.Rand, cfg *model.Config) int {
			for i := range 4 {
				c, k := consumerWithKey(rng, fmt.Sprint("new", i))
				cfg.Consumers, cfg.KeyAuths = append(cfg.Consumers, c), append(cfg.KeyAuths, k)
				cfg.Consumers = slices.Delete(cfg.Consumers, 7*i, 7*i+1)
			}
			cfg.Sort()
			// An insertion can split a segment, a deletion join two.
			return 3 * 8
		}},
		{"the first and the last removed", func(rng *rand.Rand, cfg *model.Config) int {
			cfg.KeyAuths = cfg.KeyAuths[1 : len(cfg.KeyAuths)-1]
			return 4
		}},
		{"appended at the end", func(rng *rand.Rand, cfg *model.Config) int {
			c := &model.Consumer{Username: model.String("last")}
			c.ID = "ffffffff-ffff-4fff-afff-ffffffffffff"
			cfg.Consumers = append(cfg.Consumers, c)
			return 1
		}},
		{"a list emptied, another added", func(rng *rand.Rand, cfg *model.Config) int {
			cfg.Routes = nil
			p := model.NewPlugin()
			p.ID, p.Name = fixtureID(rng), "key-auth"
			cfg.Plugins = []*model.Plugin{p}
			return 1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(7, 9))
			cfg := bigConfig(rng, 3000)
			first := &snapshot.Document{Revision: 1, Config: cfg}
			_, _, segs, err := snapshot.SealReusing(first, priv, now, nil)
			require.NoError(t, err)
			reused, _ := segs.Reused()
			require.Zero(t, reused)
			// Three more seals, each reusing the one before.
			for rev := int64(2); rev <= 4; rev++ {
				next := cfg
				next.Consumers, next.KeyAuths = slices.Clone(cfg.Consumers), slices.Clone(cfg.KeyAuths)
				most := tc.change(rng, &next)
				doc := &snapshot.Document{Revision: rev, Config: next}
				data, ptr, nextSegs, err := snapshot.SealReusing(doc, priv, now, segs)
				require.NoError(t, err)
				scratch := &snapshot.Document{Revision: rev, Config: next}
				want, wantPtr, err := snapshot.Seal(scratch, priv, now)
				require.NoError(t, err)
				require.Equal(t, want, data, "revision %d: the bytes of a seal from scratch", rev)
				require.True(t, wantPtr.Equal(ptr))
				reused, total := nextSegs.Reused()
				require.LessOrEqual(t, total-reused, most, "revision %d: segments compressed again", rev)
				require.Greater(t, total, 10)
				cfg, segs = next, nextSegs
			}
		})
	}
}

// BenchmarkSeal seals a configuration of 100,000 consumers with a key
// each: from scratch, and reusing the seal before it after 16 consumers
// were replaced (a scheduled full snapshot's share of the schedule).
func BenchmarkSeal(b *testing.B) {
	_, priv, err := snapshot.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := bigConfig(rng, 100_000)
	_, _, prev, err := snapshot.SealReusing(&snapshot.Document{Revision: 1, Config: cfg}, priv, now, nil)
	if err != nil {
		b.Fatal(err)
	}
	next := cfg
	next.Consumers = slices.Clone(cfg.Consumers)
	for range 16 {
		i := rng.IntN(len(next.Consumers))
		c := *next.Consumers[i]
		c.Username = model.String("changed")
		next.Consumers[i] = &c
	}
	for _, mode := range []string{"scratch", "reusing"} {
		b.Run(mode, func(b *testing.B) {
			from := prev
			if mode == "scratch" {
				from = nil
			}
			for b.Loop() {
				if _, _, _, err := snapshot.SealReusing(&snapshot.Document{Revision: 2, Config: next}, priv, now, from); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSegmentedEncodeEveryList: with an entity in every list of
// model.Config, the segmented encoding is json.Marshal's document, so
// the hand-written order of the encoder's lists follows the fields'.
func TestSegmentedEncodeEveryList(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	doc := snapshot.Document{Format: snapshot.Format, Revision: 1, CreatedAt: "2026-01-01T00:00:00Z"}
	cfg := reflect.ValueOf(&doc.Config).Elem()
	lists := 0
	for i := range cfg.NumField() {
		f := cfg.Field(i)
		if f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Pointer {
			continue
		}
		e := reflect.New(f.Type().Elem().Elem())
		if id := e.Elem().FieldByName("ID"); id.IsValid() && id.Kind() == reflect.String {
			id.SetString(fixtureID(rng))
		}
		f.Set(reflect.Append(f, e))
		lists++
	}
	require.Greater(t, lists, 10)
	data, err := snapshot.Encode(&doc)
	require.NoError(t, err)
	requireMarshaled(t, &doc, data)
}

// requireMarshaled fails t unless data decompresses to json.Marshal's
// encoding of doc.
func requireMarshaled(t *testing.T, doc *snapshot.Document, data []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	want, err := json.Marshal(doc)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}
