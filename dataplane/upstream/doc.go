// Package upstream is Kong's upstream entity on the data plane: a Pool of
// targets behind one virtual host name, balanced by weighted round-robin,
// consistent hashing over a ring of slots, least-connections or latency,
// with targets' host names re-resolved periodically and their health
// tracked by passive checks (the outcomes of proxied requests) and active
// probes.
//
// A Pool belongs to one compiled configuration: Start launches its
// background loops (DNS refresh, active probes) and Stop ends them when the
// configuration is swapped out.
package upstream
