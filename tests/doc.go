// Package tests holds Skyport's end-to-end tests: they build the skyport
// binary, start real processes — moto_server, `skyport local` (embedded and
// --backend aws), `skyport dp`, the data-plane container — and real
// upstreams, and drive them only through their public interfaces: the Admin
// API, the proxy ports, the status API, and S3 through the SDK.
package tests
