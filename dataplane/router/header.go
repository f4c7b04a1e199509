package router

import (
	"fmt"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
)

// headerMatcher is one header of a route: any request value equal to one
// of values, or matching one of regexes, satisfies it.
type headerMatcher struct {
	name    string // canonical MIME header key
	values  []string
	regexes []*regexp.Regexp
}

func compileHeaders(headers map[string][]string) ([]headerMatcher, error) {
	out := make([]headerMatcher, 0, len(headers))
	for name, vals := range headers {
		m := headerMatcher{name: textproto.CanonicalMIMEHeaderKey(name)}
		for _, v := range vals {
			if !strings.HasPrefix(v, "~*") {
				m.values = append(m.values, v)
				continue
			}
			re, err := regexp.Compile("(?i)" + v[2:])
			if err != nil {
				return nil, fmt.Errorf("header %s value %q: %w: %w", name, v, ErrInvalidRegex, err)
			}
			m.regexes = append(m.regexes, re)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b headerMatcher) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// matchValue reports whether one request value satisfies m.
func (m *headerMatcher) matchValue(g string) bool {
	for _, v := range m.values {
		if strings.EqualFold(g, v) {
			return true
		}
	}
	for _, re := range m.regexes {
		if re.MatchString(g) {
			return true
		}
	}
	return false
}
