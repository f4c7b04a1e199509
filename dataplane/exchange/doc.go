// Package exchange is the protocol-neutral view of one proxied request
// and its response that routing, plugins, metrics and logging are to work
// on, whichever server carried the request: dataplane/h1 for HTTP/1.x
// (H1) or net/http for HTTP/2 (HTTP).
//
// # Why
//
// On net/http every request costs a map of its headers, strings for the
// method, path and every value, and a ResponseWriter that copies headers
// again; the proxy then copies them once more into the upstream request.
// dataplane/h1 parses a head in place and keeps fields as byte slices of
// its read buffer, so a stage that takes an *http.Request would force the
// copies back. The stages take Request and Response instead, which both
// servers implement without copying a header into a map:
//
//   - h1: the adapters are one-pointer structs around *h1.Request and
//     *h1.Response (stored in an interface without allocating); every
//     method is the h1 method.
//   - net/http (HTTP/2): the header map already exists; the adapter reads
//     it in place and views its strings as bytes. Only Len/At need an
//     order the map lacks: a slice of views into the map's strings, built
//     on first use and reused with the adapter.
//
// # Contract
//
//   - Every []byte a view returns is read-only and valid until the handler
//     returns: a stage that keeps a value (a rate-limiting key, a log
//     field written later) copies it. Map lookups with string(b) do not
//     allocate; storing string(b) does, once, where it is needed.
//   - Names are matched case-insensitively; At returns fields in the order
//     received (h1) or in a stable order (net/http).
//   - Header mutations (Set, Add, Del) change what the upstream receives;
//     set values are copied, so the caller's bytes may change afterwards.
//   - The body is streamed: Body reads the client's bytes as they come;
//     ContentLength is -1 when unknown (chunked, HTTP/2 without a length).
//
// # Part 2: the stages on the view
//
//	router.MatchRequest(Request, port, *Match) — the router compares the
//	  view's bytes in place and reads header fields with Len/At (done: the
//	  proxy routes h1 requests so);
//	plugin phases: Access(pc, Request) / Header(pc, status, Header) /
//	  Log(pc, *LogEntry{Request, Response}) — plugins read fields with Get
//	  and change them with Set/Del (request-transformer, correlation-id);
//	  done for the access phase: plugin.ViewAccessor's AccessView, which
//	  key-auth and rate-limiting implement and the proxy's native h1 path
//	  runs;
//	metrics: status, Written, the route — no header access;
//	access log: method, path, query, host, client address, status, sizes,
//	  latencies appended to one buffer without strings;
//	forward: the upstream request written from Method, Path, Query and
//	  Len/At (hop-by-hop fields skipped) into the upstream connection's
//	  buffer, the body streamed from Body; the upstream response's fields
//	  go to Response.Header().AddBytes as they are parsed.
//
// Each stage keeps a benchmark of its ns/op on the view (router ≤ 250 ns,
// plugin chain without plugins ≤ 100 ns, metrics ≤ 200 ns, access log ≤
// 300 ns). docs/h1.md has the measured floor of the HTTP/1.1 path these
// budgets add to.
package exchange
