// Package certs is the data plane's TLS: the certificates and SNIs of the
// applied snapshot, served through certmagic's cache with Kong's selection
// rules (the exact SNI, then "*.example.com", then "example.*", then the
// default certificate); certificates obtained on demand over ACME for
// route hosts nothing else covers; and the client TLS configuration of
// services whose upstreams speak TLS.
//
// A Manager is updated with each snapshot before the proxy swaps it in:
// Update parses and caches everything first, so a bad certificate refuses
// the snapshot and changes nothing, and removes what left the snapshot
// only after the swap, so no handshake fails during a rotation.
package certs
