// Package h1 is an HTTP/1.1 server built for proxying: one goroutine per
// connection, whose read buffer, write buffer, Request and Response are
// pooled and reused request after request; heads are parsed in place, the
// fields kept as byte slices of the read buffer in a list (no maps, no
// strings); bodies are streamed both ways. A kept-alive request costs no
// allocation (BenchmarkServe).
//
// It serves TLS through crypto/tls with the caller's tls.Config (the data
// plane's comes from certmagic) and hands connections that negotiate "h2"
// to net/http's HTTP/2 server (Server.HTTP2, Handoff): one listener per
// port. Request bodies stream (request_buffering off, chunked uploads),
// "100 Continue" is sent on the body's first read, responses stream
// (Flush: SSE, chunked) with trailers, WebSocket upgrades take the
// connection over (Hijack), pipelined requests are answered in order, and
// Shutdown drains: no new connections, idle ones closed, requests in
// flight finished.
//
// # Limits
//
// Limits are nginx's, with Kong's defaults, as the proxy's Limits:
// large_client_header_buffers 4 8k (a request line past 8 KiB is 414, a
// field past 8 KiB is 400 "Request header or cookie too large", a head
// past 32 KiB is 400 and is never read further, where net/http answered
// 431), client_header_timeout, keepalive_timeout, client_body_timeout
// (ErrBodyTimeout, 408), client_max_body_size (413 for a Content-Length,
// ErrBodyTooLarge for chunks), and malformed chunked framing
// (ErrMalformedBody, 400). A head the server refuses is answered through
// Server.Refuse with nginx's status and Kong's message, then the
// connection is closed.
//
// # The parser is the security boundary
//
// A request is accepted only if net/http's server accepts the same bytes
// and frames them the same way (method, target, host, fields, body);
// FuzzParse checks this against a real net/http server, and TestFraming
// and TestFramingAsNetHTTP hold every case with both answers. Where
// net/http accepts a request that could be read two ways, the server
// refuses it as nginx does, on purpose:
//
//   - Content-Length with Transfer-Encoding: 400 (net/http reads chunks).
//   - two Content-Length fields, even equal: 400 (net/http merges them).
//   - Transfer-Encoding on HTTP/1.0: 400 (net/http ignores it and leaves
//     the chunks to be read as the next request).
//   - obs-fold, in the head or the trailer: 400 (net/http folds).
//   - a trailer line ending with a bare LF: 400.
//   - a chunk size of 16 hex digits past 2^63-1: 400 (net/http reads it).
//   - request targets other than origin form, "*", http(s) absolute form
//     with a plain host[:port] authority and CONNECT's host:port: 400
//     (net/http accepts any scheme, opaque URIs and user information).
//   - "PRI * HTTP/2.0" (h2c prior knowledge): the connection goes to
//     Server.HTTP2 when set, else 505 (net/http hands it to the handler).
//
// Everything else is answered as net/http answers it: bare LF line ends
// are accepted in the head (RFC 9112 2.2), not in chunked framing; a bare
// CR anywhere, NUL, control characters, invalid names, whitespace before
// a colon or before the first field, HTTP/0.9, malformed versions,
// missing or repeated Host, bad percent-encoding in the path are 400; an
// unknown transfer coding 501; a major version other than 1 505; an
// Expect value without the 100-continue token (found as net/http finds
// it: between spaces, commas or tabs, any case) 417.
//
// # Lifetimes
//
// A Handler must not keep the Request, the Response or any slice they
// return after it returns: the connection's next request reuses them.
package h1
