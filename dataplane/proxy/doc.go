// Package proxy is the data plane's HTTP proxy: it compiles a configuration
// (router, upstream pools, plugin set, one transport per service) into an
// immutable value, swaps it in atomically with Server.Apply, and proxies
// every request the way Kong does — route matching, protocol enforcement,
// strip_path and path_handling, preserve_host, X-Forwarded-* headers,
// per-service timeouts, retries to another target on connection failures,
// passive health reporting, Kong's error bodies and latency headers.
//
// A request runs on the configuration it started with: the old one is
// drained, then its health checkers and idle connections are released.
package proxy
