package main

import (
	"fmt"
	"strings"
)

// benchHost is the host of the route requests are sent to: with many
// routes it is one in the middle of the table.
func benchHost(routes int) string { return fmt.Sprintf("h%d.bench.test", routes/2) }

// kongYAML returns a declarative configuration with one service and
// `routes` host routes, optionally with key-auth and rate-limiting on the
// service and one consumer holding the key "bench-key".
func kongYAML(upstream, routes int, plugins bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "_format_version: \"3.0\"\nservices:\n- name: bench\n  url: http://127.0.0.1:%d\n", upstream)
	if plugins {
		b.WriteString("  plugins:\n  - name: key-auth\n  - name: rate-limiting\n    config:\n      second: 100000000\n      policy: local\n      limit_by: consumer\n")
	}
	b.WriteString("  routes:\n")
	for i := range routes {
		fmt.Fprintf(&b, "  - name: r%d\n    hosts: [h%d.bench.test]\n    paths: [/]\n", i, i)
	}
	if plugins {
		b.WriteString("consumers:\n- username: bench\n  keyauth_credentials:\n  - key: bench-key\n")
	}
	return b.String()
}

// withHTTPLog adds a global http-log plugin sending to endpoint in batches
// of 100 to a configuration kongYAML made.
func withHTTPLog(yaml, endpoint string) string {
	return yaml + fmt.Sprintf("plugins:\n- name: http-log\n  config:\n    http_endpoint: %s\n"+
		"    queue:\n      max_batch_size: 100\n      max_coalescing_delay: 0.1\n", endpoint)
}
