package router

import "strings"

// Kong's priority layout (kong/router/transform.lua), most significant
// first: match weight (3 bits), plain hosts only (1), header count (8),
// regex path (1), regex_priority (32), prefix length (19).
const (
	weightShift        = 61
	plainHostBit       = uint64(1) << 60
	headerCountShift   = 52
	maxHeaderCount     = 255
	regexBit           = uint64(1) << 51
	regexPriorityShift = 19
	maxPrefixLength    = 0x7FFFF
)

// priority computes an entry's priority as Kong does, with regex_priority
// biased so that negative values order below zero.
func priority(e *entry) uint64 {
	rt := e.route
	var weight uint64
	for _, present := range []bool{len(rt.Methods) > 0, len(rt.Hosts) > 0,
		len(rt.Headers) > 0, len(rt.SNIs) > 0, len(rt.Paths) > 0} {
		if present {
			weight++
		}
	}
	p := weight << weightShift
	if len(rt.Hosts) > 0 && !anyWildcard(rt.Hosts) {
		p |= plainHostBit
	}
	p |= uint64(min(len(rt.Headers), maxHeaderCount)) << headerCountShift
	if len(e.regexes) > 0 {
		p |= regexBit
		p |= uint64(uint32(int64(rt.RegexPriority)+1<<31)) << regexPriorityShift
	}
	p |= uint64(min(e.prefixLen, maxPrefixLength))
	return p
}

func anyWildcard(hosts []string) bool {
	for _, h := range hosts {
		if strings.Contains(h, "*") {
			return true
		}
	}
	return false
}
