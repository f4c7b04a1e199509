// Package proxy is the data plane's HTTP proxy: it compiles a configuration
// (router, upstream pools, plugin set, one transport per service) into an
// immutable value, swaps it in atomically with Server.Apply, and proxies
// every request the way Kong does — route matching, protocol enforcement,
// strip_path (path_handling v0 always, as Kong's traditional_compatible
// router), preserve_host, X-Forwarded-* headers,
// per-service timeouts, retries to another target on connection failures,
// passive health reporting, Kong's error bodies and latency headers.
//
// Answers the proxy gives itself are Kong's: what Kong's runloop refuses
// (no route, a protocol, no service, no peer) as kong.response.error does,
// in the format the Accept header asks for (JSON by default); what nginx
// fails at (an upstream that errs or times out, a bad body or head) as
// kong/error_handlers.lua does (text/plain by default); both with the
// request id (X-Kong-Request-Id, also sent upstream and back with
// Options.RequestID). Plugins' header and body filters run on every such
// answer, the global plugins' on answers given before the plugins ran.
//
// A request runs on the configuration it started with: the old one is
// drained, then its health checkers and idle connections are released.
//
// The hot path: a request to an http or https service that is not an
// upgrade (with or without a body) is forwarded by forward and sent by
// h1Client, in the request's goroutine (a streamed body in one of its
// own), on keep-alive connections of the service's own, HTTP/1.1 over
// TLS for https; other requests go through httputil.ReverseProxy (a
// query with ';', which it cleans, still sent by h1Client; WebSocket
// upgrades and gRPC by http.Transport). Both paths share the upstream
// selection, retries, header rules and plugin phases. Access log lines
// can be encoded without slog and written asynchronously
// (AccessLogWriter, LogWriter).
//
// At the edge, Limits carry nginx's bounds on clients as Kong runs them
// (header buffers, keep-alive, header and body timeouts, body size), which
// Frontend applies to a listener; routes' request_buffering and
// response_buffering buffer bodies in memory, then in temporary files, so
// that slow clients hold no upstream connection. Hop-by-hop fields the
// client names are removed before the plugins run, and only WebSocket
// upgrades are forwarded.
//
// Protocols: a Frontend serves HTTP/1.x on dataplane/h1 (whose parser is
// the security boundary: nginx's answers to bad and oversized heads) and
// hands HTTP/2 (ALPN on TLS, h2c with prior knowledge on plain
// listeners) to net/http's server, with its streams, header list and
// frames bounded. Both give the proxy's handler an *http.Request (on
// h1, adapted from its view of the request), but for the requests the
// native path takes (native.go: no body, a plain-HTTP service, no
// plugins but those that run on the view), served from h1's request to h1's response with the same
// result. ws and wss routes and services carry WebSocket
// upgrades, relayed frame for frame after the plugins ran on the
// handshake; grpc and grpcs routes take gRPC only (415 and 426 otherwise,
// as Kong), grpc and grpcs services are reached over h2c and HTTP/2 on
// TLS, bodies streamed and trailers relayed, and the proxy's own answers
// carry grpc-status (plugin.Response.Render).
package proxy
