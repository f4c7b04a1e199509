// Package snapshot is the format of a published configuration: canonical
// JSON of the whole entity set at one revision, gzip-compressed, with a
// SHA-256 digest over the stored bytes and an Ed25519 signature over that
// digest. The publisher seals snapshots; data planes open them.
//
// Object layout (docs/contracts.md, "Object layout"):
//
//	<prefix>/snapshots/<cluster_id>/<epoch>/<revision, 20 digits>.json.gz   immutable
//	<prefix>/latest.json         the Pointer, moved forward only (a newer epoch is forward)
//
// Snapshots published before cluster identities (Identity) existed are at
// <prefix>/snapshots/<revision, 20 digits>.json.gz.
package snapshot
