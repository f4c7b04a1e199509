package pluginschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Field is one configuration field, from Kong's schema document.
type Field struct {
	Name string
	// Type is string, integer, number, boolean, array, set, map, record or
	// foreign.
	Type     string
	Required bool
	// Default is filled in when the field is absent or null; it is deep
	// copied into every normalized config.
	Default any
	// OneOf lists the accepted values, when restricted.
	OneOf []any
	// Between, when set, is the inclusive [min, max] of a number or
	// integer; Gt an exclusive minimum.
	Between []float64
	Gt      *float64
	// LenMin is the minimum length of a string (1 unless set, as in
	// Kong), array or set.
	LenMin *int
	// StartsWith, Match and MatchNone constrain strings (Match and
	// MatchNone's patterns are Kong's Lua patterns, compiled to regexps).
	StartsWith string
	Match      *regexp.Regexp
	MatchNone  []Pattern
	// MatchErr replaces Match's message when set (Kong's err).
	MatchErr string
	// Elements describes array/set elements; Fields a record's fields;
	// Keys and Values a map's keys (strings) and values.
	Elements *Field
	Fields   []Field
	Keys     *Field
	Values   *Field
	// Shorthands are a record's shorthand fields.
	Shorthands []Shorthand
}

// Pattern is a match_none entry: a value matching Re is refused with Err.
type Pattern struct {
	Re  *regexp.Regexp
	Err string
}

// Shorthand is an input-only field (a deprecated name) whose value moves
// to the field at Path (Kong's shorthand_fields with
// deprecation.replaced_with).
type Shorthand struct {
	Field
	Path []string
}

// rawField is a field definition as Kong's schema documents spell it.
type rawField struct {
	Type        string                          `json:"type"`
	Required    bool                            `json:"required"`
	Default     any                             `json:"default"`
	OneOf       []any                           `json:"one_of"`
	Between     []float64                       `json:"between"`
	Gt          *float64                        `json:"gt"`
	LenMin      *int                            `json:"len_min"`
	StartsWith  string                          `json:"starts_with"`
	Match       string                          `json:"match"`
	Err         string                          `json:"err"`
	MatchNone   []struct{ Pattern, Err string } `json:"match_none"`
	Elements    *rawField                       `json:"elements"`
	Fields      []map[string]*rawField          `json:"fields"`
	Keys        *rawField                       `json:"keys"`
	Values      *rawField                       `json:"values"`
	Eq          json.RawMessage                 `json:"eq"`
	Shorthands  []map[string]*rawField          `json:"shorthand_fields"`
	Deprecation *struct {
		ReplacedWith []struct {
			Path []string `json:"path"`
		} `json:"replaced_with"`
	} `json:"deprecation"`
}

// parseDoc reads a plugin's schema document: its protocols, whether it
// refuses a consumer, and its config record.
func parseDoc(raw []byte) (*Schema, error) {
	var doc struct {
		Fields []map[string]*rawField `json:"fields"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding the document: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("compacting the document: %w", err)
	}
	s := &Schema{Doc: json.RawMessage(compact.Bytes())}
	for _, f := range doc.Fields {
		for name, d := range f {
			switch name {
			case "consumer":
				s.NoConsumer = string(d.Eq) == "null"
			case "protocols":
				s.Protocols = strings1(d.Elements.OneOf)
				s.DefaultProtocols = strings1(asList(d.Default))
			case "config":
				cfg, err := parseField("config", d)
				if err != nil {
					return nil, err
				}
				s.Fields, s.Shorthands = cfg.Fields, cfg.Shorthands
			}
		}
	}
	return s, nil
}

func parseFields(list []map[string]*rawField) ([]Field, error) {
	out := make([]Field, 0, len(list))
	for _, f := range list {
		for name, d := range f {
			fd, err := parseField(name, d)
			if err != nil {
				return nil, err
			}
			out = append(out, fd)
		}
	}
	return out, nil
}

func parseField(name string, d *rawField) (Field, error) {
	f := Field{Name: name, Type: d.Type, Required: d.Required, Default: d.Default, OneOf: d.OneOf,
		Between: d.Between, Gt: d.Gt, LenMin: d.LenMin, StartsWith: d.StartsWith, MatchErr: d.Err}
	var err error
	if d.Match != "" {
		if f.Match, err = luaPattern(d.Match); err != nil {
			return f, fmt.Errorf("field %s: %w", name, err)
		}
	}
	for _, m := range d.MatchNone {
		re, err := luaPattern(m.Pattern)
		if err != nil {
			return f, fmt.Errorf("field %s: %w", name, err)
		}
		f.MatchNone = append(f.MatchNone, Pattern{Re: re, Err: m.Err})
	}
	for _, sub := range []struct {
		raw *rawField
		dst **Field
	}{{d.Elements, &f.Elements}, {d.Keys, &f.Keys}, {d.Values, &f.Values}} {
		if sub.raw != nil {
			el, err := parseField("", sub.raw)
			if err != nil {
				return f, fmt.Errorf("field %s: %w", name, err)
			}
			*sub.dst = &el
		}
	}
	if f.Fields, err = parseFields(d.Fields); err != nil {
		return f, fmt.Errorf("field %s: %w", name, err)
	}
	for _, sh := range d.Shorthands {
		for sname, sd := range sh {
			sf, err := parseField(sname, sd)
			if err != nil {
				return f, err
			}
			if sd.Deprecation == nil || len(sd.Deprecation.ReplacedWith) == 0 {
				return f, fmt.Errorf("shorthand %s: no replacement path", sname)
			}
			f.Shorthands = append(f.Shorthands, Shorthand{Field: sf, Path: sd.Deprecation.ReplacedWith[0].Path})
		}
	}
	return f, nil
}

// luaPattern compiles the Lua patterns Kong's plugin schemas use.
func luaPattern(p string) (*regexp.Regexp, error) {
	classes := map[byte]string{'u': "A-Z", 'l': "a-z", 'd': "0-9", 'a': "A-Za-z", 'w': "A-Za-z0-9", 's': `\s`}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+1 < len(p):
			i++
			if cls, ok := classes[p[i]]; ok {
				if inClass {
					b.WriteString(cls)
				} else {
					b.WriteString("[" + cls + "]")
				}
				continue
			}
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		case c == '\\':
			b.WriteString(`\\`) // a plain character in Lua patterns
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ']':
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("lua pattern %q: %w", p, err)
	}
	return re, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func strings1(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, fmt.Sprint(v))
	}
	return out
}
