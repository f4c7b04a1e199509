package delta_test

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

var (
	now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id  = snapshot.Identity{ClusterID: "0f0e0d0c-0b0a-4908-8706-050403020100", Epoch: 2}
)

func service(uuid, name string) *model.Service {
	s := model.NewService()
	s.ID, s.Name, s.Host = uuid, model.String(name), name+".local"
	return s
}

func route(uuid, svc string, paths ...string) *model.Route {
	r := model.NewRoute()
	r.ID, r.Paths, r.Service = uuid, paths, &model.Ref{ID: svc}
	return r
}

const (
	sA = "a0000000-0000-4000-a000-000000000001"
	sB = "b0000000-0000-4000-a000-000000000002"
	rA = "c0000000-0000-4000-a000-000000000003"
	rB = "d0000000-0000-4000-a000-000000000004"
)

// base and target: one service kept, one deleted, one route changed, one
// route added.
func pair() (*model.Config, *model.Config) {
	base := &model.Config{
		Services: []*model.Service{service(sA, "a"), service(sB, "b")},
		Routes:   []*model.Route{route(rA, sA, "/a")},
	}
	target := &model.Config{
		Services: []*model.Service{service(sA, "a")},
		Routes:   []*model.Route{route(rA, sA, "/a", "/aa"), route(rB, sA, "/b")},
	}
	return base, target
}

func TestDiffApply(t *testing.T) {
	t.Parallel()
	base, target := pair()
	doc, err := delta.Diff(id, 7, base, 9, target)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(target), doc.ConfigHash)
	require.Empty(t, doc.Upserts.Services, "an unchanged service is not in the delta")
	require.Len(t, doc.Upserts.Routes, 2)
	require.Equal(t, map[model.Kind][]string{model.KindService: {sB}}, doc.Deletes)

	got, err := delta.Apply(base, 7, doc)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(target), snapshot.ConfigHash(got))
	require.Len(t, base.Services, 2, "the base is not modified")

	_, err = delta.Apply(base, 8, doc)
	require.ErrorIs(t, err, delta.ErrBase)

	// The same delta on another configuration at the same revision.
	other := base.Clone()
	other.Services = other.Services[:1]
	other.Services = append(other.Services, service("e0000000-0000-4000-a000-000000000005", "e"))
	_, err = delta.Apply(other, 7, doc)
	require.ErrorIs(t, err, delta.ErrResult)
}

func TestDiffOfEqualIsEmpty(t *testing.T) {
	t.Parallel()
	base, _ := pair()
	doc, err := delta.Diff(id, 1, base, 2, base.Clone())
	require.NoError(t, err)
	require.True(t, doc.Empty())
}

func sealed(t *testing.T) ([]byte, delta.Pointer, *model.Config, *model.Config) {
	t.Helper()
	base, target := pair()
	doc, err := delta.Diff(id, 7, base, 9, target)
	require.NoError(t, err)
	data, ptr, err := delta.Seal(doc, priv, now)
	require.NoError(t, err)
	return data, ptr, base, target
}

var pub, priv, _ = snapshot.GenerateKey()

func TestSealOpen(t *testing.T) {
	t.Parallel()
	data, ptr, base, target := sealed(t)
	require.NoError(t, ptr.Check())
	require.Equal(t, "deltas/"+id.ClusterID+"/2/00000000000000000007-00000000000000000009.json.gz", ptr.Key)
	require.Equal(t, "deltas/00000000000000000001-00000000000000000002.json.gz", delta.Key(snapshot.Identity{}, 1, 2))

	doc, err := delta.Open(data, ptr, pub)
	require.NoError(t, err)
	got, err := delta.Apply(base, 7, doc)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(target), snapshot.ConfigHash(got))

	// Equal documents encode to equal bytes.
	again, _ := pair()
	_, target2 := pair()
	doc2, err := delta.Diff(id, 7, again, 9, target2)
	require.NoError(t, err)
	data2, _, err := delta.Seal(doc2, priv, now)
	require.NoError(t, err)
	require.Equal(t, data, data2)
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	data, ptr, _, _ := sealed(t)
	otherPub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	flipped := bytes.Clone(data)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name string
		data []byte
		ptr  func(delta.Pointer) delta.Pointer
		key  []byte
		want error
	}{
		{"other key", data, nil, otherPub, snapshot.ErrSignature},
		{"flipped byte", flipped, nil, pub, snapshot.ErrDigest},
		{"size", data[:len(data)-1], nil, pub, snapshot.ErrSize},
		{"base", data, func(p delta.Pointer) delta.Pointer { p.Base = 8; return p }, pub, snapshot.ErrRevision},
		{"identity", data, func(p delta.Pointer) delta.Pointer { p.Epoch = 3; return p }, pub, snapshot.ErrIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ptr
			if tt.ptr != nil {
				p = tt.ptr(p)
			}
			_, err := delta.Open(tt.data, p, tt.key)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestPointerCheck(t *testing.T) {
	t.Parallel()
	_, ptr, _, _ := sealed(t)
	tests := map[string]func(*delta.Pointer){
		"key elsewhere":   func(p *delta.Pointer) { p.Key = "snapshots/x.json.gz" },
		"base 0":          func(p *delta.Pointer) { p.Base = 0 },
		"backwards":       func(p *delta.Pointer) { p.Revision = p.Base },
		"size 0":          func(p *delta.Pointer) { p.Size = 0 },
		"size too large":  func(p *delta.Pointer) { p.Size = snapshot.MaxStored + 1 },
		"malformed epoch": func(p *delta.Pointer) { p.Epoch = 0 },
	}
	for name, edit := range tests {
		p := ptr
		edit(&p)
		require.Error(t, p.Check(), name)
	}
}

func gz(t *testing.T, raw string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(raw))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		raw  string
		want error
	}{
		"format":       {`{"format":"2.0","base":1,"revision":2}`, snapshot.ErrFormat},
		"order":        {`{"format":"1.0","base":2,"revision":2}`, snapshot.ErrCorrupt},
		"unknown kind": {`{"format":"1.0","base":1,"revision":2,"deletes":{"dogs":["x"]}}`, snapshot.ErrCorrupt},
		"empty id":     {`{"format":"1.0","base":1,"revision":2,"deletes":{"routes":[""]}}`, snapshot.ErrCorrupt},
		"no id":        {`{"format":"1.0","base":1,"revision":2,"upserts":{"routes":[{"paths":["/"]}]}}`, snapshot.ErrCorrupt},
		"not json":     {`{`, snapshot.ErrCorrupt},
	}
	for name, tt := range tests {
		_, err := delta.Decode(gz(t, tt.raw))
		require.ErrorIs(t, err, tt.want, name)
	}
	// A compression bomb is refused by its decompressed size. It is one
	// gzip member of 1 MiB of zeros repeated (gzip readers join members),
	// so building it costs one megabyte's compression, not the bound's.
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	require.NoError(t, zw.Close())
	bomb := bytes.Repeat(buf.Bytes(), snapshot.MaxDecompressed>>20+1)
	_, err := delta.Decode(bomb)
	require.ErrorIs(t, err, snapshot.ErrCorrupt)
	require.ErrorContains(t, err, "more than")
}

// FuzzDecode checks that Decode never panics on arbitrary bytes, and that
// what it accepts re-encodes.
func FuzzDecode(f *testing.F) {
	base, target := pair()
	doc, err := delta.Diff(id, 1, base, 2, target)
	if err != nil {
		f.Fatal(err)
	}
	data, _, err := delta.Seal(doc, priv, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := delta.Decode(data)
		if err != nil {
			return
		}
		if doc == nil {
			t.Fatal("nil document without an error")
		}
		if _, err := delta.Encode(doc); err != nil {
			t.Fatalf("a decoded delta does not encode: %v", err)
		}
	})
}
