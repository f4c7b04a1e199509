package cache

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// DeltaFile holds the deltas applied since the cached snapshot: the chain
// that takes it to the running revision (see chainHeader). A delta is
// appended to it; it is removed when a snapshot is saved.
const DeltaFile = "lkg.deltas"

// Bounds on the chain: past them AppendDelta refuses with ErrChainFull
// and the caller saves the running revision's full snapshot instead.
const (
	MaxChain      = 64
	MaxChainBytes = 32 << 20
)

// Errors of AppendDelta.
var (
	// ErrChainFull: the chain reached MaxChain deltas or MaxChainBytes.
	ErrChainFull = errors.New("cached delta chain full")
	// ErrChainGap: the delta does not continue the cached revision.
	ErrChainGap = errors.New("delta does not continue the cached revision")
	// ErrChainUnread: a record of the chain file could not be read (an
	// I/O error, a damaged pointer line), which an append would cut off;
	// the file is kept as it is.
	ErrChainUnread = errors.New("cached delta chain not read to its end")
)

// link is one delta of the chain: its pointer and stored bytes.
type link struct {
	Pointer delta.Pointer `json:"pointer"`
	Data    []byte        `json:"data"`
}

// AppendDelta adds a delta to the chain after the cached snapshot. Its
// base must be the revision the cache reaches now (the snapshot's, or the
// last delta's) in the snapshot's identity (ErrChainGap otherwise). The
// mark moves to the delta's revision: a chain lost or damaged then leaves
// a cache that Load refuses (ErrStale), as a snapshot older than the mark.
func (c *Cache) AppendDelta(data []byte, p delta.Pointer) error {
	if err := p.Check(); err != nil {
		return fmt.Errorf("caching delta: %w", err)
	}
	if int64(len(data)) != p.Size {
		return fmt.Errorf("caching delta: %w: %d bytes, expected %d", snapshot.ErrSize, len(data), p.Size)
	}
	if err := checkDir(c.dir); err != nil {
		return err
	}
	sp, err := c.pointer()
	if err != nil {
		return fmt.Errorf("caching delta: %w", err)
	}
	// The pointers only: the deltas' bytes are not read again.
	cf := c.readChain(false)
	if cf.stop != nil {
		// Records past what was read are not a torn tail: not cut.
		return fmt.Errorf("caching delta %d→%d: %w", p.Base, p.Revision, cf.stop)
	}
	chain := continuing(cf.links, sp)
	end, size := sp.Revision, int64(0)
	for _, l := range chain {
		end, size = l.Pointer.Revision, size+l.Pointer.Size
	}
	switch {
	case p.Identity() != sp.Identity() || p.Base != end:
		return fmt.Errorf("caching delta %d→%d: %w (cached %d of %s)", p.Base, p.Revision, ErrChainGap, end, sp.Identity())
	case len(chain) >= MaxChain || size+p.Size > MaxChainBytes:
		return fmt.Errorf("caching delta %d→%d: %w", p.Base, p.Revision, ErrChainFull)
	}
	next := link{Pointer: p, Data: data}
	if cf.missing || cf.current && len(chain) == len(cf.links) {
		rec, err := encodeRecord(next)
		if err != nil {
			return err
		}
		if err := c.appendRecord(rec, cf.valid); err != nil {
			return fmt.Errorf("caching delta: %w", err)
		}
		return c.advanceDelta(p)
	}
	// A file of the earlier format, or holding stale links: rewritten
	// whole with the chain.
	whole := c.readChain(true)
	if whole.stop != nil {
		return fmt.Errorf("caching delta %d→%d: %w", p.Base, p.Revision, whole.stop)
	}
	raw, err := encodeChain(append(continuing(whole.links, sp), next))
	if err != nil {
		return err
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, DeltaFile), raw, fileMode); err != nil {
		return fmt.Errorf("caching delta: %w", err)
	}
	return c.advanceDelta(p)
}

// advanceDelta moves the mark to the delta's revision.
func (c *Cache) advanceDelta(p delta.Pointer) error {
	raw, err := json.Marshal(Mark{Revision: p.Revision, SHA256: p.SHA256, ClusterID: p.ClusterID, Epoch: p.Epoch, Delta: true})
	if err != nil {
		return fmt.Errorf("encoding the applied revision: %w", err)
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, MarkFile), raw, fileMode); err != nil {
		return fmt.Errorf("storing the applied revision: %w", err)
	}
	return nil
}

// Deltas returns the chain after the loaded snapshot p, each delta
// verified with the publisher's key, in order: the deltas to apply to it
// (delta.Apply checks each result). It stops at the first delta that does
// not verify or continue the previous one, returning those before it and
// the error; the caller then holds a revision older than the mark.
func (c *Cache) Deltas(p snapshot.Pointer) ([]*delta.Document, error) {
	var out []*delta.Document
	end := p.Revision
	for _, l := range c.chain(p) {
		if l.Pointer.Base != end {
			return out, fmt.Errorf("cached delta %d→%d: %w", l.Pointer.Base, l.Pointer.Revision, ErrChainGap)
		}
		doc, err := delta.Open(l.Data, l.Pointer, c.key)
		if err != nil {
			return out, fmt.Errorf("cached delta %d→%d: %w", l.Pointer.Base, l.Pointer.Revision, err)
		}
		out = append(out, doc)
		end = doc.Revision
	}
	return out, nil
}

// chain reads the delta file, at most its bound, keeping the links that
// continue sp (stale links, from before the snapshot, are dropped); a
// file that is missing, unsafe or unreadable is an empty chain, a record
// cut short ends it.
func (c *Cache) chain(sp snapshot.Pointer) []link {
	return continuing(c.readChain(true).links, sp)
}

// continuing returns the links of all that continue sp, in order.
func continuing(all []link, sp snapshot.Pointer) []link {
	end := sp.Revision
	var out []link
	for _, l := range all {
		if l.Pointer.Identity() != sp.Identity() || l.Pointer.Base != end {
			continue
		}
		out = append(out, l)
		end = l.Pointer.Revision
	}
	return out
}

// dropDeltas removes the chain; a snapshot newer than it was saved.
func (c *Cache) dropDeltas() error {
	if err := os.Remove(filepath.Join(c.dir, DeltaFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing cached deltas: %w", err)
	}
	return nil
}

// pointer reads the cached snapshot's pointer only.
func (c *Cache) pointer() (snapshot.Pointer, error) {
	f, _, err := openOwned(filepath.Join(c.dir, File))
	if err != nil {
		return snapshot.Pointer{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, int64(len(header))+snapshot.MaxPointer+1), 512)
	if line, err := br.ReadString('\n'); err != nil || line != header {
		return snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: unknown header", snapshot.ErrCorrupt)
	}
	raw, err := br.ReadBytes('\n')
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: pointer line: %w", snapshot.ErrCorrupt, err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(raw, &p); err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: %w", snapshot.ErrCorrupt, err)
	}
	return p, p.Check()
}

// Delta is one delta of a chain to save: its stored bytes and pointer.
type Delta struct {
	Data    []byte
	Pointer delta.Pointer
}

// SaveChain stores a full snapshot and the chain of deltas that takes it
// to a revision, as Save then AppendDelta each would, except that the
// snapshot may be older than the mark as long as the chain's end is not
// (a data plane that reached its revision again from the full snapshot
// of a chain it ran a revision of): the cache then boots the chain's end.
// The snapshot is written, then the chain, then the mark moves to the
// chain's end; a crash in between leaves the previous cache, or one Load
// refuses (a snapshot behind the mark).
func (c *Cache) SaveChain(data []byte, p snapshot.Pointer, chain []Delta) error {
	if len(chain) == 0 {
		return c.Save(data, p)
	}
	if err := p.Check(); err != nil {
		return fmt.Errorf("caching snapshot: %w", err)
	}
	if int64(len(data)) != p.Size {
		return fmt.Errorf("caching snapshot: %w: %d bytes, expected %d", snapshot.ErrSize, len(data), p.Size)
	}
	links := make([]link, 0, len(chain))
	end, size := p.Revision, int64(0)
	for _, d := range chain {
		if err := d.Pointer.Check(); err != nil {
			return fmt.Errorf("caching delta: %w", err)
		}
		if int64(len(d.Data)) != d.Pointer.Size {
			return fmt.Errorf("caching delta: %w: %d bytes, expected %d", snapshot.ErrSize, len(d.Data), d.Pointer.Size)
		}
		if d.Pointer.Identity() != p.Identity() || d.Pointer.Base != end {
			return fmt.Errorf("caching delta %d→%d: %w (chain at %d of %s)", d.Pointer.Base, d.Pointer.Revision, ErrChainGap, end, p.Identity())
		}
		end, size = d.Pointer.Revision, size+d.Pointer.Size
		links = append(links, link{Pointer: d.Pointer, Data: d.Data})
	}
	if len(links) > MaxChain || size > MaxChainBytes {
		return fmt.Errorf("caching %d deltas after revision %d: %w", len(links), p.Revision, ErrChainFull)
	}
	last := chain[len(chain)-1].Pointer
	reach := p
	reach.Revision, reach.SHA256 = last.Revision, last.SHA256
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating cache directory: %w", err)
	}
	if err := checkDir(c.dir); err != nil {
		return err
	}
	if m, err := c.mark(); err == nil && m.behind(reach) {
		return fmt.Errorf("caching revision %d: %w: revision %d of %s, applied %d of %s", last.Revision, ErrStale, reach.Revision, reach.Identity(), m.Revision, m.Identity())
	}
	raw, err := encodeChain(links)
	if err != nil {
		return err
	}
	if err := c.write(data, p); err != nil {
		return err
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, DeltaFile), raw, fileMode); err != nil {
		return fmt.Errorf("caching deltas: %w", err)
	}
	return c.advanceDelta(last)
}
