// Package yamlevent reads a YAML document as a stream of events, without
// building its tree: a copy of gopkg.in/yaml.v3's parser (the libyaml
// port: apic.go, parserc.go, readerc.go, scannerc.go, yamlh.go,
// yamlprivateh.go, MIT license) and of its scalar resolution (resolve.go,
// Apache 2.0; see LICENSE and NOTICE), unchanged but for the package
// name and gofmt, with this file's small API over them. yaml.v3 exposes only whole
// documents (yaml.Node trees); a caller that builds its own values as it
// reads, a part of the document at a time, uses this instead, and yaml.v3
// for everything else, so both read a scalar the same way.
package yamlevent

import (
	"errors"
	"fmt"
	"strconv"
)

// Kind is what an event is.
type Kind int

// The event kinds.
const (
	StreamStart Kind = iota + 1
	StreamEnd
	DocumentStart
	DocumentEnd
	Alias
	Scalar
	SequenceStart
	SequenceEnd
	MappingStart
	MappingEnd
)

// Event is one parsing event.
type Event struct {
	Kind Kind
	// Value is a scalar's text.
	Value []byte
	// Anchor and Tag are as written ("&a", "!!str"), empty when absent.
	Anchor, Tag []byte
	// Plain is true for a scalar written without quotes or a block
	// indicator: its type is resolved from its text (Resolve).
	Plain bool
	// Line is the 1-based line the event starts at.
	Line int
}

// Parser reads the events of a document in memory.
type Parser struct {
	p    yaml_parser_t
	done bool
}

// NewParser returns a parser of in.
func NewParser(in []byte) *Parser {
	p := &Parser{}
	yaml_parser_initialize(&p.p)
	if len(in) == 0 {
		in = []byte{'\n'}
	}
	yaml_parser_set_input_string(&p.p, in)
	return p
}

// ErrSyntax wraps every parsing error.
var ErrSyntax = errors.New("yaml syntax error")

// Next returns the next event; after StreamEnd or an error it returns
// the error again.
func (p *Parser) Next() (Event, error) {
	if p.done || p.p.error != yaml_NO_ERROR {
		return Event{}, p.err()
	}
	var ev yaml_event_t
	if !yaml_parser_parse(&p.p, &ev) {
		return Event{}, p.err()
	}
	out := Event{
		Kind:   kinds[ev.typ],
		Value:  ev.value,
		Anchor: ev.anchor,
		Tag:    ev.tag,
		Plain:  ev.typ == yaml_SCALAR_EVENT && ev.scalar_style() == yaml_PLAIN_SCALAR_STYLE,
		Line:   ev.start_mark.line + 1,
	}
	if out.Kind == StreamEnd {
		p.done = true
	}
	return out, nil
}

func (p *Parser) err() error {
	if p.done {
		return fmt.Errorf("reading past the end of the stream: %w", ErrSyntax)
	}
	line := p.p.problem_mark.line
	if p.p.context_mark.line != 0 {
		line = p.p.context_mark.line
	}
	if p.p.error == yaml_SCANNER_ERROR {
		line++
	}
	return fmt.Errorf("line %s: %s: %w", strconv.Itoa(line), p.p.problem, ErrSyntax)
}

var kinds = map[yaml_event_type_t]Kind{
	yaml_STREAM_START_EVENT:   StreamStart,
	yaml_STREAM_END_EVENT:     StreamEnd,
	yaml_DOCUMENT_START_EVENT: DocumentStart,
	yaml_DOCUMENT_END_EVENT:   DocumentEnd,
	yaml_ALIAS_EVENT:          Alias,
	yaml_SCALAR_EVENT:         Scalar,
	yaml_SEQUENCE_START_EVENT: SequenceStart,
	yaml_SEQUENCE_END_EVENT:   SequenceEnd,
	yaml_MAPPING_START_EVENT:  MappingStart,
	yaml_MAPPING_END_EVENT:    MappingEnd,
}

// Resolve returns the value of a plain, untagged scalar as yaml.v3
// decodes it into an interface{}: nil, a bool, an int, int64, uint64 or
// float64, or the text itself (timestamps included).
func Resolve(text string) any {
	tag, v := resolve("", text)
	if tag == timestampTag {
		return text
	}
	return v
}

// failf is resolve's error for a value its explicit tag does not allow;
// Resolve passes no tag, so it is never reached.
func failf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
