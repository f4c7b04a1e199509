package cache_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// hosted is seal's configuration with the service's host for rev.
func hosted(rev int64) *model.Config {
	name := "svc"
	return &model.Config{Services: []*model.Service{{Base: model.Base{ID: "0b5c2f4e-8f5a-4d38-9a51-3f0f2a1c7e01"},
		Name: &name, Host: fmt.Sprintf("r%d.example.com", rev), Protocol: "http", Port: 80}}}
}

// sealDelta seals the delta from base to rev, the service's host moving
// from base's to rev's.
func sealDelta(t *testing.T, priv ed25519.PrivateKey, base, rev int64) ([]byte, delta.Pointer) {
	t.Helper()
	doc, err := delta.Diff(snapshot.Identity{}, base, hosted(base), rev, hosted(rev))
	require.NoError(t, err)
	data, p, err := delta.Seal(doc, priv, time.Now())
	require.NoError(t, err)
	return data, p
}

func TestDeltaChain(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "dp")
	c := cache.New(dir, pub)

	data, p, err := snapshot.Seal(&snapshot.Document{Revision: 3, Config: *hosted(3)}, priv, time.Now())
	require.NoError(t, err)
	require.NoError(t, c.Save(data, p))
	d1, p1 := sealDelta(t, priv, 3, 5)
	require.NoError(t, c.AppendDelta(d1, p1))
	d2, p2 := sealDelta(t, priv, 5, 6)
	require.NoError(t, c.AppendDelta(d2, p2))
	gap, pg := sealDelta(t, priv, 7, 8)
	require.ErrorIs(t, c.AppendDelta(gap, pg), cache.ErrChainGap)

	doc, lp, err := c.Load()
	require.NoError(t, err)
	require.EqualValues(t, 3, lp.Revision, "the snapshot stays")
	m, err := c.Mark()
	require.NoError(t, err)
	require.EqualValues(t, 6, m.Revision, "the mark is the chain's end")
	docs, err := c.Deltas(lp)
	require.NoError(t, err)
	require.Len(t, docs, 2)
	cfg, rev := &doc.Config, lp.Revision
	for _, d := range docs {
		cfg, err = delta.Apply(cfg, rev, d)
		require.NoError(t, err)
		rev = d.Revision
	}
	require.EqualValues(t, 6, rev)
	require.Equal(t, snapshot.ConfigHash(hosted(6)), snapshot.ConfigHash(cfg))

	// A chain signed by another key stops where it fails to verify.
	_, otherPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	d3, p3 := sealDelta(t, otherPriv, 6, 7)
	require.NoError(t, c.AppendDelta(d3, p3))
	docs, err = c.Deltas(lp)
	require.ErrorIs(t, err, snapshot.ErrSignature)
	require.Len(t, docs, 2)

	// A snapshot saved drops the chain.
	data, p, err = snapshot.Seal(&snapshot.Document{Revision: 9, Config: *hosted(9)}, priv, time.Now())
	require.NoError(t, err)
	require.NoError(t, c.Save(data, p))
	_, err = os.Stat(filepath.Join(dir, cache.DeltaFile))
	require.ErrorIs(t, err, os.ErrNotExist)
	docs, err = c.Deltas(p)
	require.NoError(t, err)
	require.Empty(t, docs)

	// The chain is bounded.
	rev = 9
	for range cache.MaxChain {
		d, dp := sealDelta(t, priv, rev, rev+1)
		require.NoError(t, c.AppendDelta(d, dp))
		rev++
	}
	d, dp := sealDelta(t, priv, rev, rev+1)
	require.ErrorIs(t, c.AppendDelta(d, dp), cache.ErrChainFull)

	// A damaged chain file is an empty chain, which leaves the snapshot
	// behind the mark: not booted from.
	require.NoError(t, os.WriteFile(filepath.Join(dir, cache.DeltaFile), []byte("{"), 0o600))
	docs, err = c.Deltas(p)
	require.NoError(t, err)
	require.Empty(t, docs)
	_, _, err = c.Load()
	require.ErrorIs(t, err, cache.ErrStale)

	// The running revision's snapshot replaces the mark a delta set.
	data, p, err = snapshot.Seal(&snapshot.Document{Revision: rev, Config: *hosted(rev)}, priv, time.Now())
	require.NoError(t, err)
	require.NoError(t, c.Save(data, p))
	_, lp, err = c.Load()
	require.NoError(t, err)
	require.Equal(t, rev, lp.Revision)
}

// TestSaveChain: a full snapshot older than the mark is saved with the
// chain that takes it to the mark or past it, not with one that ends
// before it or does not continue it.
func TestSaveChain(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	c := cache.New(filepath.Join(t.TempDir(), "dp"), pub)
	full, fp, err := snapshot.Seal(&snapshot.Document{Revision: 3, Config: *hosted(3)}, priv, time.Now())
	require.NoError(t, err)
	require.NoError(t, c.Save(full, fp))
	d4, p4 := sealDelta(t, priv, 3, 4)
	d5, p5 := sealDelta(t, priv, 4, 5)
	require.NoError(t, c.AppendDelta(d4, p4))
	require.NoError(t, c.AppendDelta(d5, p5))
	require.ErrorIs(t, c.Save(full, fp), cache.ErrStale, "the full snapshot alone is behind the mark")

	require.ErrorIs(t, c.SaveChain(full, fp, []cache.Delta{{Data: d4, Pointer: p4}}), cache.ErrStale, "a chain ending before the mark")
	require.ErrorIs(t, c.SaveChain(full, fp, []cache.Delta{{Data: d5, Pointer: p5}}), cache.ErrChainGap)
	d6, p6 := sealDelta(t, priv, 5, 6)
	require.NoError(t, c.SaveChain(full, fp, []cache.Delta{{Data: d4, Pointer: p4}, {Data: d5, Pointer: p5}, {Data: d6, Pointer: p6}}))

	m, err := c.Mark()
	require.NoError(t, err)
	require.EqualValues(t, 6, m.Revision)
	doc, lp, err := c.Load()
	require.NoError(t, err)
	require.EqualValues(t, 3, lp.Revision)
	docs, err := c.Deltas(lp)
	require.NoError(t, err)
	cfg, rev := &doc.Config, lp.Revision
	for _, d := range docs {
		cfg, err = delta.Apply(cfg, rev, d)
		require.NoError(t, err)
		rev = d.Revision
	}
	require.EqualValues(t, 6, rev)
	require.Equal(t, snapshot.ConfigHash(hosted(6)), snapshot.ConfigHash(cfg))
}

// TestDeltaAppendTornRecord: a delta is appended to the chain file (what
// was written stays as it was); a record cut short, as a crash while
// appending leaves it, is dropped on read, whatever part of it is
// missing, and cut off by the next append.
func TestDeltaAppendTornRecord(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	d1, p1 := sealDelta(t, priv, 3, 4)
	d2, p2 := sealDelta(t, priv, 4, 5)
	for _, tc := range []struct {
		desc string
		cut  func(size int64) int64 // bytes of the last record kept
	}{
		{"in its bytes", func(size int64) int64 { return size - 3 }},
		{"in its pointer line", func(int64) int64 { return 20 }},
		{"after its pointer line", func(size int64) int64 { return size - int64(len(d2)) }},
		{"all of it", func(int64) int64 { return 0 }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "dp")
			c := cache.New(dir, pub)
			data, p, err := snapshot.Seal(&snapshot.Document{Revision: 3, Config: *hosted(3)}, priv, time.Now())
			require.NoError(t, err)
			require.NoError(t, c.Save(data, p))
			path := filepath.Join(dir, cache.DeltaFile)
			require.NoError(t, c.AppendDelta(d1, p1))
			one, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, c.AppendDelta(d2, p2))
			two, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, one, two[:len(one)], "appended, not rewritten")

			require.NoError(t, os.Truncate(path, int64(len(one))+tc.cut(int64(len(two)-len(one)))))
			docs, err := c.Deltas(p)
			require.NoError(t, err)
			require.Len(t, docs, 1, "the torn record is dropped")
			require.EqualValues(t, 4, docs[0].Revision)
			_, _, err = c.Load()
			require.ErrorIs(t, err, cache.ErrStale, "the chain ends before the mark")

			require.NoError(t, c.AppendDelta(d2, p2), "appended after the whole records")
			again, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, two, again)
			docs, err = c.Deltas(p)
			require.NoError(t, err)
			require.Len(t, docs, 2)
			_, _, err = c.Load()
			require.NoError(t, err)
		})
	}
}

// TestDeltaChainEarlierFormat: a chain file of the earlier format (a JSON
// list of pointers and base64 bytes) is read, and rewritten in the
// current one at the next append.
func TestDeltaChainEarlierFormat(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "dp")
	c := cache.New(dir, pub)
	data, p, err := snapshot.Seal(&snapshot.Document{Revision: 3, Config: *hosted(3)}, priv, time.Now())
	require.NoError(t, err)
	require.NoError(t, c.Save(data, p))
	d1, p1 := sealDelta(t, priv, 3, 4)
	list, err := json.Marshal([]map[string]any{{"pointer": p1, "data": d1}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, cache.DeltaFile), list, 0o600))
	docs, err := c.Deltas(p)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	d2, p2 := sealDelta(t, priv, 4, 5)
	require.NoError(t, c.AppendDelta(d2, p2))
	raw, err := os.ReadFile(filepath.Join(dir, cache.DeltaFile))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(raw), "skyport-deltas 1\n"))
	docs, err = c.Deltas(p)
	require.NoError(t, err)
	require.Len(t, docs, 2)
}

// TestDeltaAppendKeepsUnreadRecords: a record the chain file holds whole
// but that the read stops at (past the bounds, as a file written before
// they were lowered; or a damaged pointer line) is not a torn tail: the
// append is refused, ErrChainFull or ErrChainUnread, and the file is
// kept as it is.
func TestDeltaAppendKeepsUnreadRecords(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	d1, p1 := sealDelta(t, priv, 3, 4)
	d2, p2 := sealDelta(t, priv, 4, 5)
	for _, tc := range []struct {
		desc string
		// tail writes what follows the first record.
		tail func(t *testing.T, f *os.File)
		want error
	}{
		{"a record past MaxChainBytes", func(t *testing.T, f *os.File) {
			big := p2
			big.Size = cache.MaxChainBytes
			line, err := json.Marshal(big)
			require.NoError(t, err)
			_, err = f.Write(append(line, '\n'))
			require.NoError(t, err)
			fi, err := f.Stat()
			require.NoError(t, err)
			require.NoError(t, f.Truncate(fi.Size()+big.Size)) // whole, sparse
		}, cache.ErrChainFull},
		{"a damaged pointer line", func(t *testing.T, f *os.File) {
			_, err := f.Write(append([]byte("{not a pointer}\n"), d2...))
			require.NoError(t, err)
		}, cache.ErrChainUnread},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "dp")
			c := cache.New(dir, pub)
			data, p, err := snapshot.Seal(&snapshot.Document{Revision: 3, Config: *hosted(3)}, priv, time.Now())
			require.NoError(t, err)
			require.NoError(t, c.Save(data, p))
			require.NoError(t, c.AppendDelta(d1, p1))
			path := filepath.Join(dir, cache.DeltaFile)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			tc.tail(t, f)
			require.NoError(t, f.Close())
			before, err := os.Stat(path)
			require.NoError(t, err)

			err = c.AppendDelta(d2, p2)
			require.ErrorIs(t, err, tc.want)
			after, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, before.Size(), after.Size(), "the records past the read are kept")
			docs, err := c.Deltas(p)
			require.NoError(t, err)
			require.Len(t, docs, 1, "the chain read ends before them")
		})
	}
}
