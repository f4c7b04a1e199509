package router

import (
	"strconv"
	"strings"
	"unsafe"
)

// maxHits bounds the prefix-tree hits kept on the stack; deeper paths
// fall back to the heap.
const maxHits = 32

// search is the state of one Match call.
type search struct {
	method string
	path   string // normalized
	header reqFields
	tls    bool
	sni    string
	port   int
	best   *entry
	depth  int // matched prefix length, for prefix entries
	re     int // index of the matching regex, for regex entries
}

// scan tries b's entries that could beat the best match so far.
func (s *search) scan(b *bucket) {
	if !beats(b.top, s.best) {
		return
	}
	var buf [maxHits]hit
	hits := b.lookupPaths(s.path, buf[:0])
	for i := len(hits) - 1; i >= 0; i-- {
		if s.try(hits[i].slots) {
			s.depth = hits[i].depth
		}
	}
	s.try(b.regex)
	s.try(b.pathless)
}

// try checks slots, best first, and records the first one that matches
// and outranks the current best. It reports whether it recorded one.
func (s *search) try(slots []slot) bool {
	for i := range slots {
		e := slots[i].e
		if s.best != nil && !e.outranks(s.best) {
			return false
		}
		if p := slots[i].port; p != 0 && p != s.port {
			continue
		}
		if !e.matchFields(s) {
			continue
		}
		if e.more != nil && len(e.more.regexes) > 0 {
			re := e.matchRegex(s.path)
			if re < 0 {
				continue
			}
			s.re = re
		}
		s.best = e
		return true
	}
	return false
}

// matchFields checks the fields other than hosts and paths. A route's
// SNIs only apply to requests that came over TLS: Kong's condition is
// (net.protocol != "https" || tls.sni …) (kong/router/transform.lua,
// get_expression).
func (e *entry) matchFields(s *search) bool {
	f := e.more
	if f == nil {
		return true
	}
	if len(f.methods) > 0 && !contains(f.methods, s.method) {
		return false
	}
	if len(f.snis) > 0 && s.tls && !matchSNI(f.snis, s.sni) {
		return false
	}
	for i := range f.headers {
		if !s.header.match(&f.headers[i]) {
			return false
		}
	}
	return true
}

func (e *entry) matchRegex(path string) int {
	for i, re := range e.regexes() {
		if re.MatchString(path) {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// result writes the Match for the best entry into m; copyPath says the
// normalized path views the request's bytes, which m may not keep. It
// reports whether there was a best entry.
func (s *search) result(m *Match, copyPath bool) bool {
	e := s.best
	if e == nil {
		return false
	}
	// The fields one by one, not *m = Match{…}: that would clear m.path,
	// which s.path views when a caller matches a Match's own Path again.
	m.Route, m.Service, m.Prefix, m.Captures = e.route, e.service, "", nil
	path := s.path
	if copyPath {
		switch {
		case path == "/":
			path = "/" // the constant: no copy to make
		case len(path) <= len(m.path):
			n := copy(m.path[:], path)
			path = unsafe.String(&m.path[0], n)
		default:
			path = strings.Clone(path)
		}
	}
	m.Path = path
	switch {
	case len(e.regexes()) > 0:
		re := e.regexes()[s.re]
		idx := re.FindStringSubmatchIndex(path)
		m.Prefix = path[idx[0]:idx[1]]
		m.Captures = make(map[string]string, len(idx)/2)
		for i, name := range re.SubexpNames() {
			if idx[2*i] < 0 {
				continue
			}
			v := path[idx[2*i]:idx[2*i+1]]
			m.Captures[strconv.Itoa(i)] = v
			if name != "" {
				m.Captures[name] = v
			}
		}
	case e.prefixed:
		m.Prefix = path[:s.depth]
	}
	return true
}
