package declarative

import (
	"errors"
	"fmt"
	"slices"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/yamlevent"
)

// errWhole says that the document uses YAML that the streaming reader
// leaves to yaml.v3 (anchors, aliases, explicit tags, merge keys,
// duplicate keys, a syntax error), or is not a mapping: Parse reads it
// whole instead, as it always did, and reports yaml.v3's errors.
var errWhole = errors.New("the document is read whole")

// parseStream parses the document a top-level entity at a time: each
// element of a top-level entity list is read into generic values and
// made an entity before the next is read, so the generic form of the
// whole document is never held. What it builds and reports is what
// parsing the whole document does (TestStreamMatchesWhole).
func parseStream(data []byte) (*model.Config, error) {
	p, err := readStream(data)
	if err != nil {
		return nil, err
	}
	return p.finish()
}

// readStream reads the document's entities (parseStream) into a parser
// that holds nothing of data: the document may be dropped before the
// entities are resolved (finish).
func readStream(data []byte) (*parser, error) {
	r := &eventReader{p: yamlevent.NewParser(data)}
	for _, want := range []yamlevent.Kind{yamlevent.StreamStart, yamlevent.DocumentStart, yamlevent.MappingStart} {
		ev, err := r.next()
		if err != nil {
			return nil, err
		}
		if ev.Kind != want || len(ev.Anchor) > 0 || len(ev.Tag) > 0 {
			return nil, errWhole
		}
	}
	p := &parser{items: map[model.Kind][]*item{}}
	top := map[string]any{}
	err := r.mapping(func(key string) (err error) {
		k := model.Kind(key)
		if !k.Valid() {
			top[key], err = r.value()
			return err
		}
		top[key] = nil
		p.section = slices.Index(model.Kinds, k)
		return r.entities(p, k)
	})
	if err != nil {
		return nil, err
	}
	if ev, err := r.next(); err != nil || ev.Kind != yamlevent.DocumentEnd {
		return nil, errWhole
	}
	head := &parser{}
	if !head.header(top) {
		return nil, head.errs.err()
	}
	for _, pr := range head.errs.Problems {
		p.errs.add(pr.Path, "%s", pr.Message)
	}
	// Parse reads the kinds in model.Kinds order; nested entities join
	// their kind's list as their top-level section is read.
	for k, list := range p.items {
		slices.SortStableFunc(list, func(a, b *item) int { return int(a.section - b.section) })
		p.items[k] = list
	}
	return p, nil
}

// eventReader builds generic values, as yaml.v3 decodes them into an
// interface{}, from the parser's events.
type eventReader struct {
	p *yamlevent.Parser
}

func (r *eventReader) next() (yamlevent.Event, error) {
	ev, err := r.p.Next()
	if err != nil {
		return ev, errWhole
	}
	return ev, nil
}

// entities reads the value of the top-level key of kind k: a list is
// read an element at a time.
func (r *eventReader) entities(p *parser, k model.Kind) error {
	ev, err := r.next()
	if err != nil {
		return err
	}
	if ev.Kind != yamlevent.SequenceStart || len(ev.Anchor) > 0 || len(ev.Tag) > 0 {
		v, err := r.build(ev)
		if err != nil {
			return err
		}
		p.list(v, k, string(k), nil, "")
		return nil
	}
	for i := 0; ; i++ {
		ev, err := r.next()
		if err != nil {
			return err
		}
		if ev.Kind == yamlevent.SequenceEnd {
			return nil
		}
		el, err := r.build(ev)
		if err != nil {
			return err
		}
		p.element(el, k, string(k), i, nil, "")
	}
}

// value reads the next value.
func (r *eventReader) value() (any, error) {
	ev, err := r.next()
	if err != nil {
		return nil, err
	}
	return r.build(ev)
}

// build reads the value that starts with ev.
func (r *eventReader) build(ev yamlevent.Event) (any, error) {
	if len(ev.Anchor) > 0 || len(ev.Tag) > 0 {
		return nil, errWhole
	}
	switch ev.Kind {
	case yamlevent.Scalar:
		return scalar(ev)
	case yamlevent.SequenceStart:
		list := make([]any, 0)
		for {
			ev, err := r.next()
			if err != nil {
				return nil, err
			}
			if ev.Kind == yamlevent.SequenceEnd {
				return list, nil
			}
			v, err := r.build(ev)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
	case yamlevent.MappingStart:
		m := map[string]any{}
		err := r.mapping(func(key string) (err error) {
			m[key], err = r.value()
			return err
		})
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, errWhole
}

// mapping reads the entries of a mapping whose start was read, up to its
// end: each is called with every key and reads the key's value.
func (r *eventReader) mapping(each func(key string) error) error {
	keys := map[string]bool{}
	for {
		ev, err := r.next()
		if err != nil {
			return err
		}
		if ev.Kind == yamlevent.MappingEnd {
			return nil
		}
		key, err := r.key(ev, keys)
		if err != nil {
			return err
		}
		if err := each(key); err != nil {
			return err
		}
	}
}

// key reads a mapping key: a scalar, as the string clean makes of it.
// A key repeated (by its text, as yaml.v3 compares them) or a merge key
// is left to yaml.v3.
func (r *eventReader) key(ev yamlevent.Event, seen map[string]bool) (key string, err error) {
	if ev.Kind != yamlevent.Scalar || len(ev.Anchor) > 0 || len(ev.Tag) > 0 {
		return "", errWhole
	}
	raw := string(ev.Value)
	if seen[raw] {
		return "", errWhole
	}
	seen[raw] = true
	v, err := scalar(ev)
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

// scalar returns a scalar's value: a quoted or block scalar is a string,
// a plain one is resolved as yaml.v3 resolves it.
func scalar(ev yamlevent.Event) (any, error) {
	text := string(ev.Value)
	if !ev.Plain {
		return text, nil
	}
	if text == "<<" {
		return nil, errWhole
	}
	return yamlevent.Resolve(text), nil
}
