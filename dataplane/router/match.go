package router

import "strconv"

// maxHits bounds the prefix-tree hits kept on the stack; deeper paths
// fall back to the heap.
const maxHits = 32

// search is the state of one Match call.
type search struct {
	in    *Input
	path  string // normalized
	port  int
	best  *entry
	depth int // matched prefix length, for prefix entries
	re    int // index of the matching regex, for regex entries
}

// scan tries b's entries that could beat the best match so far.
func (s *search) scan(b *bucket) {
	var buf [maxHits]hit
	hits := b.paths.lookup(s.path, buf[:0])
	for i := len(hits) - 1; i >= 0; i-- {
		if s.try(hits[i].n.slots) {
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
		if !e.matchFields(s.in) {
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
func (e *entry) matchFields(in *Input) bool {
	f := e.more
	if f == nil {
		return true
	}
	if len(f.methods) > 0 && !contains(f.methods, in.Method) {
		return false
	}
	if len(f.snis) > 0 && in.TLS && !matchSNI(f.snis, in.SNI) {
		return false
	}
	for i := range f.headers {
		if !f.headers[i].match(in.Header[f.headers[i].name]) {
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

// result builds the Match for the best entry.
func (s *search) result() *Match {
	e := s.best
	if e == nil {
		return nil
	}
	m := &Match{Route: e.route, Service: e.service, Path: s.path}
	switch {
	case len(e.regexes()) > 0:
		re := e.regexes()[s.re]
		idx := re.FindStringSubmatchIndex(s.path)
		m.Prefix = s.path[idx[0]:idx[1]]
		m.Captures = make(map[string]string, len(idx)/2)
		for i, name := range re.SubexpNames() {
			if idx[2*i] < 0 {
				continue
			}
			v := s.path[idx[2*i]:idx[2*i+1]]
			m.Captures[strconv.Itoa(i)] = v
			if name != "" {
				m.Captures[name] = v
			}
		}
	case len(e.prefixes) > 0:
		m.Prefix = s.path[:s.depth]
	}
	return m
}
