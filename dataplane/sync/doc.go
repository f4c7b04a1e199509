// Package sync keeps a data plane's configuration in step with the control
// plane: it boots from the verified disk cache, holds a WebSocket
// connection to the control plane (hello, status acks and heartbeats,
// config notices), fetches and verifies announced snapshots, hands them to
// the proxy to compile and swap, persists what was applied, and polls the
// fallback object store while the control plane is unreachable.
//
// Applies are serialized and always move to the newest announced revision;
// a snapshot that fails verification or compilation changes nothing but
// the reported status (docs/contracts.md, invariant 3).
package sync
