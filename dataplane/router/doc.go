// Package router selects the route for a request, with the semantics of
// Kong's traditional_compatible router.
//
// New compiles a snapshot's routes once into an immutable Router; Match is
// then safe for concurrent use and does not grow linearly with the number
// of routes that have hosts or prefix paths:
//
//   - routes are filed under host buckets: a map of plain hosts, maps of
//     wildcard suffixes ("*.example.com") and prefixes ("example.*") looked
//     up by length, and one bucket for routes without hosts;
//   - inside a bucket, prefix paths sit in a radix tree walked once per
//     request (a list, longest first, while a bucket has at most eight),
//     regex paths in a list in priority order, and routes without paths
//     in another;
//   - every route (one entry per path group, as Kong splits routes whose
//     paths differ in kind or length) is ordered by Kong's priority and
//     its id, so a bucket's lists stop as soon as they cannot beat the
//     best match found so far;
//   - a configuration that follows another is compiled by Update: only
//     the routes that changed are compiled and only the host buckets they
//     are filed in rebuilt; the rest is shared, copy-on-write, with the
//     router before, which its readers keep using unchanged.
//
// A request comes as an Input (strings and net/http's header map: Match,
// MatchInto) or as the protocol-neutral view (exchange.Request:
// MatchRequest), whose method, host and path bytes are compared in place
// and whose header fields are read from the view's list, so the proxy
// routes an h1 request without building a map. MatchInto and
// MatchRequest write the answer into the caller's Match: a prefix match
// allocates at most the copy of the view's path the Match keeps.
//
// Kong's priority (kong/router/transform.lua, as LuaJIT runs it; see
// priority.go), highest first: plain hosts only, a regex path, then in one
// 32-bit word ORed together the number of matching fields (methods,
// hosts, headers, snis, paths), the number of headers, regex_priority and
// the length of the prefix. Equal priorities go to the higher id, as
// atc-router orders its matchers by (priority, id); created_at plays no
// part.
//
// Values within one field are ORed, fields are ANDed. Hosts compare
// case-insensitively; a host with a port ("example.com:8000") only matches
// that port: the one in the Host header, or the listener's when Host has
// none. SNIs may be wildcards ("*.example.com", "example.*") and only
// apply to requests that came over TLS, so an https route with snis also
// matches plain HTTP (and the proxy then answers 426). Header values
// compare case-insensitively, and a value starting with "~*" is a
// case-insensitive regex. A path starting with "~" is a regex anchored at
// the start; any other path is a plain prefix. Request paths are
// normalized (see Normalize) before matching. Protocols are not checked
// here: the proxy enforces them.
package router
