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
//     request, regex paths in a list in priority order, and routes without
//     paths in another;
//   - every route (one entry per path group, as Kong splits routes whose
//     paths differ in kind or length) carries a rank computed from Kong's
//     priority, so a bucket's lists stop as soon as they cannot beat the
//     best match found so far.
//
// Kong's priority, highest first: the number of matching fields present
// (methods, hosts, headers, snis, paths), plain hosts over wildcards, the
// number of headers, regex paths over prefixes, regex_priority, the length
// of the prefix; then created_at and id break ties.
//
// Values within one field are ORed, fields are ANDed. Hosts compare
// case-insensitively; a host with a port ("example.com:8000") only matches
// that port. Header values compare case-insensitively, and a value starting
// with "~*" is a case-insensitive regex. A path starting with "~" is a
// regex anchored at the start; any other path is a plain prefix. Request
// paths are normalized (see Normalize) before matching. Protocols are not
// checked here: the proxy enforces them.
package router
