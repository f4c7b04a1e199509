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
var documentLists = func() map[string]reflect.Type {
	t := reflect.TypeFor[model.Config]()
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = t.Field(i).Type.Elem() // *T
	}
	return out
}()

// decodePacked is decode as a stream: the document's object read key by
// key, each entity list element by element into a model.Packer. The
// decompressed size is bounded by max as decode bounds it, and the format
// checked as decode checks it (after the lists, which sort before it).
func decodePacked(data []byte, max int64) (*Document, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	lr := &io.LimitedReader{R: zr, N: max + 1}
	dec := json.NewDecoder(&squeezer{r: lr})
	doc, err := decodeStream(dec)
	if err == nil {
		// What follows the document: whitespace only, to the end of the
		// gzip stream (whose checksum the end verifies).
		switch _, terr := dec.Token(); {
		case terr == nil:
			err = errors.New("data after the document")
		case !errors.Is(terr, io.EOF):
			err = fmt.Errorf("data after the document: %w", terr)
		}
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

// decodeStream reads one document object from dec.
func decodeStream(dec *json.Decoder) (*Document, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var doc Document
	scalars := map[string]any{"format": &doc.Format, "revision": &doc.Revision, "created_at": &doc.CreatedAt,
		"cluster_id": &doc.ClusterID, "epoch": &doc.Epoch}
	packer := model.NewPacker()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if list := lookupFold(documentLists, key); list != nil {
			if err := decodeList(dec, list, packer); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			continue
		}
		dst := lookupFold(scalars, key)
		if dst == nil {
			var skip json.RawMessage // a field this build does not know
			dst = &skip
		}
		if err := dec.Decode(dst); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	doc.Config = *packer.Config()
	return &doc, nil
}

// decodeList reads a list of entities (null, or an array of objects) into
// the packer; ptr is the list's element type, *T.
func decodeList(dec *json.Decoder, ptr reflect.Type, packer *model.Packer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("not a list: %v", tok)
	}
	for dec.More() {
		e := reflect.New(ptr) // **T: null leaves it nil
		if err := dec.Decode(e.Interface()); err != nil {
			return err
		}
		if e.Elem().IsNil() {
			return errors.New("a null entity")
		}
		packer.Add(e.Elem().Interface().(model.Entity))
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %v, found %v", want, tok)
	}
	return nil
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
