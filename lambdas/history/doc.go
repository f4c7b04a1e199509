// Package history is the configuration history: one record per published
// (or refused) revision, stored beside its snapshot in the object store,
// and the entity-level differences between two configurations.
//
// The snapshots are the history; a record is the small document that
// lists it without reading them: revision, time, config hash, entity
// counts by kind, and what changed since the revision published before it.
// A revision committed but superseded before it was published has no
// record (nor snapshot). Records and snapshots past the retention (a
// number of revisions, an age) are pruned by the publisher and reported
// as expired.
package history
