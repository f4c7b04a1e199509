package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// A snapshot's stored bytes are a sequence of gzip members (RFC 1952
// §2.2: concatenated members are one gzip file, and every gzip reader
// reads them as one stream), each the compression of a run of the
// document's bytes:
//
//   - the head: the document's fields before its lists, less the closing
//     brace;
//   - for each non-empty list, in the document's order, its entities in
//     segments: a segment ends before an entity whose id's FNV-1a (32
//     bits) is a multiple of SegmentMean, or after SegmentMax entities.
//     A list's first segment opens with `,"<list>":[`, a segment after it
//     with the comma before its first entity; the last one ends with `]`;
//   - the tail: `}`.
//
// The boundaries follow the entities' ids, not their positions, so a
// change to a few entities changes the segments that hold them and leaves
// the others' bytes as they were: the next full snapshot of a configuration
// derived from a sealed one (SealReusing) copies those members instead of
// encoding and compressing them again, and is the same bytes a seal from
// scratch gives.
const (
	// SegmentMean is the mean number of entities of a segment.
	SegmentMean = 512
	// SegmentMax bounds a segment's entities.
	SegmentMax = 4 * SegmentMean
)

// Segments are the members of a sealed snapshot's entity lists, kept so
// that a later seal reuses those whose entities did not change. They hold
// the sealed lists (sharing their arrays) and the stored bytes; an entity
// is unchanged when the later configuration holds the same pointer, so
// the entities of a sealed configuration must never be changed in place
// (the publisher's never are: a change replaces the entity; and
// model.Config.Pack, which puts packed copies in a list's place, keeps
// their values, the sealed list then holding the copies).
type Segments struct {
	lists         []sealedList // by segmentLists index
	data          []byte       // the stored bytes the members are in
	reused, fresh int          // this seal's segments copied and compressed
}

// Reused reports how many of the seal's segments were copied from the
// previous seal's, and how many there are in all.
func (s *Segments) Reused() (reused, total int) {
	if s == nil {
		return 0, 0
	}
	return s.reused, s.reused + s.fresh
}

// sealedList is one list as sealed: the list ([]*T) and its segments.
type sealedList struct {
	entities any
	segs     []segment
}

// segment is a run of a list's entities and where its member lies in the
// stored bytes.
type segment struct {
	start, n  int // the run: entities[start : start+n]
	off, size int // the member: data[off : off+size]
}

// segmentEncoder writes a document's members into out.
type segmentEncoder struct {
	out  bytes.Buffer
	zw   *gzip.Writer
	bw   *bufio.Writer
	ebuf bytes.Buffer
	enc  *json.Encoder
	prev *Segments // the previous seal's, or nil
	next *Segments
}

// EncodeReusing is Encode reusing the members of prev (nil: none), the
// segments of an earlier seal; it returns the segments of this one. The
// bytes are Encode's.
func EncodeReusing(doc *Document, prev *Segments) ([]byte, *Segments, error) {
	e := &segmentEncoder{prev: prev, next: &Segments{lists: make([]sealedList, len(segmentLists))}}
	if prev != nil {
		e.out.Grow(len(prev.data) + len(prev.data)/8 + 4096)
	}
	zw, err := gzip.NewWriterLevel(&e.out, gzip.BestSpeed)
	if err != nil {
		return nil, nil, fmt.Errorf("compressing snapshot: %w", err)
	}
	e.zw, e.bw = zw, bufio.NewWriterSize(zw, 64<<10)
	e.enc = json.NewEncoder(&e.ebuf)
	if err := e.document(doc); err != nil {
		return nil, nil, err
	}
	data := e.out.Bytes()
	e.next.data = data
	return data, e.next, nil
}

// document writes the head, every list and the tail.
func (e *segmentEncoder) document(doc *Document) error {
	head, err := json.Marshal(struct {
		Format    string `json:"format"`
		Revision  int64  `json:"revision"`
		CreatedAt string `json:"created_at"`
		ClusterID string `json:"cluster_id,omitempty"`
		Epoch     int64  `json:"epoch,omitempty"`
	}{doc.Format, doc.Revision, doc.CreatedAt, doc.ClusterID, doc.Epoch})
	if err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	if err := e.member(func() error { _, err := e.bw.Write(head[:len(head)-1]); return err }); err != nil {
		return err
	}
	if err := eachList(&doc.Config, e); err != nil {
		return err
	}
	return e.member(func() error { return e.bw.WriteByte('}') })
}

// member compresses what write writes as one gzip member at the end of
// out.
func (e *segmentEncoder) member(write func() error) error {
	e.zw.Reset(&e.out)
	e.bw.Reset(e.zw)
	if err := write(); err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	if err := e.bw.Flush(); err != nil {
		return fmt.Errorf("compressing snapshot: %w", err)
	}
	if err := e.zw.Close(); err != nil {
		return fmt.Errorf("compressing snapshot: %w", err)
	}
	return nil
}

// listed is an entity type a list holds: a pointer, compared by identity.
type listed interface {
	comparable
	model.Entity
}

// encodeList writes list i (its quoted JSON name, its entities sorted by
// id) in segments, copying the previous seal's member of a segment whose
// run is the same entities at the same place in the list.
func encodeList[T listed](e *segmentEncoder, i int, list []T) error {
	if len(list) == 0 {
		return nil
	}
	// Sorted in place as model.Config.Sort sorts (a stable sort by id),
	// only when it is not: the publisher's lists are.
	if !slices.IsSortedFunc(list, byID) {
		slices.SortStableFunc(list, byID)
	}
	var old []T
	var oldSegs []segment
	if e.prev != nil {
		if l, ok := e.prev.lists[i].entities.([]T); ok {
			old, oldSegs = l, e.prev.lists[i].segs
		}
	}
	segs := make([]segment, 0, max(len(oldSegs), len(list)/SegmentMean+1))
	j := 0
	for a := 0; a < len(list); {
		id := list[a].Meta().ID
		for j < len(oldSegs) && old[oldSegs[j].start].Meta().ID < id {
			j++
		}
		n, same := 0, false
		if j < len(oldSegs) {
			n, same = reuse(old, oldSegs[j], list, a)
		}
		if n == 0 {
			n = runLength(list[a:])
		}
		off := e.out.Len()
		if same {
			e.out.Write(e.prev.data[oldSegs[j].off : oldSegs[j].off+oldSegs[j].size])
			e.next.reused++
		} else {
			if err := e.member(func() error { return run(e, i, list, a, n) }); err != nil {
				return err
			}
			e.next.fresh++
		}
		segs = append(segs, segment{start: a, n: n, off: off, size: e.out.Len() - off})
		a += n
	}
	e.next.lists[i] = sealedList{entities: list, segs: segs}
	return nil
}

// run writes the document's bytes of list[a:a+n] (list i).
func run[T listed](e *segmentEncoder, i int, list []T, a, n int) error {
	first, last := a == 0, a+n == len(list)
	if first {
		if err := e.bw.WriteByte(','); err != nil {
			return err
		}
		if _, err := e.bw.Write(segmentLists[i]); err != nil {
			return err
		}
		if _, err := e.bw.WriteString(":["); err != nil {
			return err
		}
	}
	for k := a; k < a+n; k++ {
		if k > 0 {
			if err := e.bw.WriteByte(','); err != nil {
				return err
			}
		}
		e.ebuf.Reset()
		if err := e.enc.Encode(list[k]); err != nil {
			return err
		}
		if _, err := e.bw.Write(bytes.TrimSuffix(e.ebuf.Bytes(), []byte{'\n'})); err != nil {
			return err
		}
	}
	if last {
		return e.bw.WriteByte(']')
	}
	return nil
}

// reuse compares the segment list[a:] starts with old's segment s. When
// list holds s's entities (the same pointers) from a on, and a segment
// ends after them in list too, it returns their number: the segment's
// run, found without hashing an id inside it (the same ids cut alike).
// same reports that its member is s's: the run is first and last in its
// list as s's was. n is 0 when the run is not s's.
func reuse[T listed](old []T, s segment, list []T, a int) (n int, same bool) {
	if a+s.n > len(list) {
		return 0, false
	}
	for k := range s.n {
		if old[s.start+k] != list[a+k] {
			return 0, false
		}
	}
	end := a + s.n
	if end < len(list) && s.n < SegmentMax && !cutBefore(list[end].Meta().ID) {
		return 0, false // the run goes on in list
	}
	first, last := a == 0, end == len(list)
	return s.n, first == (s.start == 0) && last == (s.start+s.n == len(old))
}

func byID[T listed](a, b T) int { return strings.Compare(a.Meta().ID, b.Meta().ID) }

// runLength returns the number of entities of the segment list starts.
func runLength[T listed](list []T) int {
	n := 1
	for n < len(list) && n < SegmentMax && !cutBefore(list[n].Meta().ID) {
		n++
	}
	return n
}

// cutBefore reports whether a segment starts at the entity of id (unless
// it is its list's first): FNV-1a (32 bits) of the id, a multiple of
// SegmentMean.
func cutBefore(id string) bool {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return h%SegmentMean == 0
}

// segmentLists are model.Config's lists' JSON names, quoted, in the
// order of its fields (the document's, and eachList's).
var segmentLists = func() [][]byte {
	t := reflect.TypeFor[model.Config]()
	out := make([][]byte, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[i], _ = json.Marshal(name)
	}
	return out
}()

// eachList encodes c's lists in the order of model.Config's fields.
func eachList(c *model.Config, e *segmentEncoder) error {
	steps := []func(int) error{
		func(i int) error { return encodeList(e, i, c.Vaults) },
		func(i int) error { return encodeList(e, i, c.CACertificates) },
		func(i int) error { return encodeList(e, i, c.Certificates) },
		func(i int) error { return encodeList(e, i, c.SNIs) },
		func(i int) error { return encodeList(e, i, c.Services) },
		func(i int) error { return encodeList(e, i, c.Routes) },
		func(i int) error { return encodeList(e, i, c.Consumers) },
		func(i int) error { return encodeList(e, i, c.Upstreams) },
		func(i int) error { return encodeList(e, i, c.Targets) },
		func(i int) error { return encodeList(e, i, c.Plugins) },
		func(i int) error { return encodeList(e, i, c.KeyAuths) },
		func(i int) error { return encodeList(e, i, c.BasicAuths) },
		func(i int) error { return encodeList(e, i, c.JWTSecrets) },
		func(i int) error { return encodeList(e, i, c.ACLs) },
		func(i int) error { return encodeList(e, i, c.HMACAuths) },
		func(i int) error { return encodeList(e, i, c.OAuth2s) },
		func(i int) error { return encodeList(e, i, c.KeySets) },
		func(i int) error { return encodeList(e, i, c.Keys) },
	}
	if len(steps) != len(segmentLists) {
		return fmt.Errorf("encoding snapshot: %d lists encoded of %d", len(steps), len(segmentLists))
	}
	for i, step := range steps {
		if err := step(i); err != nil {
			return fmt.Errorf("encoding snapshot: %w", err)
		}
	}
	return nil
}
