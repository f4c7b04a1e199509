package router

import "strings"

// Kong 3.9.3 computes a traditional_compatible route's priority in
// kong/router/transform.lua (get_priority). Its comment draws a 64-bit
// layout: match weight (3 bits) << 61, plain hosts only << 60, header
// count (8 bits) << 52, regex path << 51, regex_priority << 19, prefix
// length (19 bits). But only the two flag bits are shifted as 64-bit
// cdata: lshift_uint64 rebinds its cdata variable to the Lua number it is
// given, so the weight, the header count and regex_priority go through
// LuaJIT's 32-bit bit.lshift, whose shift count is taken mod 32. What Kong
// actually orders routes by is therefore:
//
//	bit 60       plain hosts only
//	bit 51       regex path
//	bits 0..31   weight<<29 | headers<<20 | regex_priority<<19 | length,
//	             ORed (not added) in 32 bits, wrapping
//
// A 32-bit component that comes out negative (four or more fields, or a
// regex_priority whose shifted value has bit 31 set, such as -1 or 4096)
// is turned into a 64-bit value that sits above every other route on
// x86-64, though how it is ordered among its peers depends on whether
// LuaJIT's interpreter or its JIT ran the code. Skyport puts such routes
// above all others too (bit 63) and orders them among themselves by the
// remaining bits.
const (
	overflowBit   = uint64(1) << 63
	plainHostBit  = uint64(1) << 60
	regexBit      = uint64(1) << 51
	weightShift   = 29
	headerShift   = 20
	maxHeaders    = 255
	regexPrioShft = 19
	lengthMask    = 0x7FFFF
	signBit32     = uint32(1) << 31
)

// priority computes an entry's priority as Kong 3.9.3 does at run time.
func priority(e *entry) uint64 {
	rt := e.route
	var weight uint32
	for _, present := range []bool{len(rt.Methods) > 0, len(rt.Hosts) > 0,
		len(rt.Headers) > 0, len(rt.SNIs) > 0, len(rt.Paths) > 0} {
		if present {
			weight++
		}
	}
	parts := []uint32{
		weight << weightShift,
		uint32(min(len(rt.Headers), maxHeaders)) << headerShift,
		uint32(e.prefixLen) & lengthMask,
	}
	var p uint64
	if len(e.regexes()) > 0 {
		p |= regexBit
		parts = append(parts, uint32(rt.RegexPriority)<<regexPrioShft)
	}
	if len(rt.Hosts) > 0 && !anyWildcard(rt.Hosts) {
		p |= plainHostBit
	}
	for _, v := range parts {
		if v&signBit32 != 0 {
			p |= overflowBit
		}
		p |= uint64(v)
	}
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
