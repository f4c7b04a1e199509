package snapshot

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// OpenPacked is Open for a data plane, which keeps what it decodes: the
// document is decoded as a stream from the decompressor, an entity at a
// time, and each entity packed as it is read (model.Packer), so that
// neither the decompressed document nor the unpacked entities are ever
// held whole. The result equals Open's, packed (model.Config.Pack).
func OpenPacked(data []byte, p Pointer, pub ed25519.PublicKey) (*Document, error) {
	return open(data, p, pub, DecodePacked)
}

// DecodePacked is Decode as OpenPacked decodes: a stream, each entity
// packed as it is read. Like Decode, it verifies nothing.
func DecodePacked(data []byte) (*Document, error) {
	return decodePacked(data, MaxDecompressed)
}

// documentLists are the document's entity lists by JSON name (model.Config's
// fields, which Document embeds).
var documentLists = func() map[string]documentList {
	t := reflect.TypeFor[model.Config]()
	out := make(map[string]documentList, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = documentList{elem: t.Field(i).Type.Elem(), fast: fastDecoders[name]}
	}
	return out
}()

// errListTwice is a document holding one of its entity lists twice.
var errListTwice = errors.New("the list appears twice")

// documentList is one of the document's entity lists.
type documentList struct {
	elem reflect.Type // the element type, *T
	// fast decodes an element without reflection, when the kind has a
	// decoder (fastDecoders).
	fast func(raw []byte) (model.Entity, bool)
}

// decodePacked is decode as a stream: the document's object read key by
// key, each entity list element by element into a model.Packer. The
// decompressed size is bounded by max as decode bounds it, and the format
// checked as decode checks it (after the lists, which sort before it).
// An element is found by a scan of its bytes (stream), then decoded by a
// hand-written decoder for the kinds that have one (fastDecoders) or by
// encoding/json: one scan where json.Decoder made two, and no reflection
// for most of a big configuration's entities.
func decodePacked(data []byte, max int64) (*Document, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	lr := &io.LimitedReader{R: zr, N: max + 1}
	s := newStream(&squeezer{r: lr})
	doc, err := decodeStream(s)
	if err == nil {
		err = s.end()
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: decompresses to more than %d bytes", ErrCorrupt, max)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkFormat(doc.Format); err != nil {
		return nil, err
	}
	return doc, nil
}

// decodeStream reads one document object from s.
func decodeStream(s *stream) (*Document, error) {
	if err := s.expect('{'); err != nil {
		return nil, err
	}
	var doc Document
	scalars := map[string]any{"format": &doc.Format, "revision": &doc.Revision, "created_at": &doc.CreatedAt,
		"cluster_id": &doc.ClusterID, "epoch": &doc.Epoch}
	packer := model.NewPacker()
	lists := map[reflect.Type]bool{} // the lists met
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	if c == '}' {
		s.pos++
		doc.Config = *packer.Config()
		return &doc, nil
	}
	for {
		raw, err := s.value()
		if err != nil {
			return nil, err
		}
		var key string
		if len(raw) == 0 || raw[0] != '"' {
			return nil, fmt.Errorf("want a key, found %q", raw)
		}
		if err := json.Unmarshal(raw, &key); err != nil {
			return nil, err
		}
		if err := s.expect(':'); err != nil {
			return nil, err
		}
		if list := lookupFold(documentLists, key); list.elem != nil {
			// encoding/json keeps the last of a list met twice (in any
			// case); the packer has the first's entities already. No
			// encoder writes it: refused.
			if lists[list.elem] {
				return nil, fmt.Errorf("%s: %w", key, errListTwice)
			}
			lists[list.elem] = true
			if err := decodeList(s, list, packer); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		} else {
			dst := lookupFold(scalars, key)
			if dst == nil {
				var skip json.RawMessage // a field this build does not know
				dst = &skip
			}
			raw, err := s.value()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
		c, err := s.peek()
		if err != nil {
			return nil, err
		}
		s.pos++
		switch c {
		case ',':
			continue
		case '}':
			doc.Config = *packer.Config()
			return &doc, nil
		}
		return nil, fmt.Errorf("want ',' or '}', found %q", c)
	}
}

// decodeList reads a list of entities (null, or an array of objects) into
// the packer.
func decodeList(s *stream, list documentList, packer *model.Packer) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c != '[' {
		raw, err := s.value()
		if err != nil {
			return err
		}
		if isNull(raw) {
			return nil
		}
		return fmt.Errorf("not a list: %q", raw)
	}
	s.pos++
	if c, err = s.peek(); err != nil {
		return err
	}
	if c == ']' {
		s.pos++
		return nil
	}
	for {
		raw, err := s.value()
		if err != nil {
			return err
		}
		e, ok := model.Entity(nil), false
		if list.fast != nil {
			e, ok = list.fast(raw)
		}
		if !ok {
			v := reflect.New(list.elem) // **T: null leaves it nil
			if err := json.Unmarshal(raw, v.Interface()); err != nil {
				return err
			}
			if v.Elem().IsNil() {
				return errors.New("a null entity")
			}
			e = v.Elem().Interface().(model.Entity)
		}
		packer.Add(e)
		if c, err = s.peek(); err != nil {
			return err
		}
		s.pos++
		switch c {
		case ',':
			continue
		case ']':
			return nil
		}
		return fmt.Errorf("want ',' or ']', found %q", c)
	}
}

// lookupFold returns m[key], else the value of a key equal to it under
// case folding, as encoding/json matches object keys to fields.
func lookupFold[V any](m map[string]V, key string) V {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	var zero V
	return zero
}

// squeezer passes JSON on with each run of whitespace outside strings
// reduced to one space: json.Decoder keeps the whitespace it skips in its
// buffer until the next token, so a run of spaces as long as the document
// (a compression bomb's) would cost its length in memory, several times
// over as the buffer grows.
type squeezer struct {
	r                 io.Reader
	inString, escaped bool
	space             bool // the last byte passed on was whitespace
}

func (s *squeezer) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		w := 0
		for _, c := range p[:n] {
			switch {
			case s.escaped:
				s.escaped = false
			case s.inString:
				s.escaped = c == '\\'
				s.inString = c != '"'
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				if s.space {
					continue
				}
				s.space, c = true, ' '
			default:
				s.inString = c == '"'
				s.space = false
			}
			p[w] = c
			w++
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}
