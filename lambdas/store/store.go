// Package store is the control plane's configuration store: the interface
// both implementations (DynamoDB in AWS, an embedded file locally) satisfy,
// and the conformance suite they both pass.
//
// Every successful write raises the revision by exactly one. Errors that a
// client caused are *model.Error values with Kong's codes (unique
// violation, foreign key violation, referenced by others, not found,
// primary key violation); anything else is an internal failure.
//
// # Conditional writes
//
// Every entity carries a version that changes with every write of it:
// the revision of the write that last stored it (plus, on DynamoDB, the
// generation it lives in). GetVersioned returns it with the entity, and a
// change computed from what was read states it: Update and Delete apply
// only if the entity is still at that version, in the same transaction
// as the revision raise, and fail with ErrConflict otherwise. The caller
// then reads again, recomputes its change and retries, a bounded number
// of times. Update never inserts: an entity deleted since it was read is
// CodeNotFound. Create is guarded by the id (CodePrimaryKeyViolation), so
// a create-or-replace is a Create when the read found nothing and an
// Update of the version read otherwise. ReplaceAll replaces every entity
// and so changes every version: a change computed before it conflicts.
//
// # Identity
//
// A store holds its cluster identity (snapshot.Identity): a random
// cluster id created with the store (the embedded store's file; on
// DynamoDB an item created conditionally on first use, so concurrent
// processes agree on one) and an epoch, 1 at first. Revisions never go
// back within an epoch. A store restored from a backup is the same
// cluster whose revisions went back: it gets a new epoch, larger than any
// published, which data planes follow by rule (ARCHITECTURE.md,
// "Contracts"). What a store can tell by itself it reports as
// Identity.Restored (DynamoDB: a restore creates a new table, whose
// TableId differs from the one the identity item recorded); the embedded
// store cannot tell a copy of its file from the file, and the publisher
// tells both stores' restores by a revision behind what their epoch
// published. NewEpoch starts the epoch, conditionally on the identity
// read.
package store

import (
	"context"
	"errors"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// ErrUnstable is returned by Export when writes kept moving the revision
// while it read, so that no consistent set could be read in its bounded
// attempts. The caller retries later; nothing partial is returned.
var ErrUnstable = errors.New("the configuration kept changing while it was read")

// ErrConflict is returned by a conditional write when the entity is no
// longer at the version the change was computed from: another write
// changed (or deleted and recreated) it since it was read. The caller
// reads again and retries, or reports the conflict.
var ErrConflict = errors.New("the entity was changed by a concurrent write")

// Version identifies the state of one entity as read by GetVersioned. It is
// opaque: compare versions for equality only. Every write of an entity
// gives it a version it never had before.
type Version string

// AnyVersion makes a Delete unconditional: it removes the entity whatever
// its version.
const AnyVersion Version = ""

// Origin says who made a change, for the change history.
type Origin struct {
	// RequestID is the Admin API request id (or Lambda request id).
	RequestID string `json:"request_id,omitempty"`
	// Method and Path are the Admin API request line.
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
}

// ListOptions selects a page of entities of one kind.
type ListOptions struct {
	// Size is the page size, 1 to 1000; 0 means 100.
	Size int
	// Offset is the opaque token from a previous page's Next.
	Offset string
	// Tags filters by tags: all of them (AND) unless TagsAny (OR).
	Tags    []string
	TagsAny bool
	// Parent filters by a foreign key, for nested collections
	// (routes of a service: {Field: "service", Kind: services, ID: …}).
	Parent *model.Reference
	// Unique keeps only the entity holding this unique value (a
	// consumer's custom_id): a lookup by the store's unique index, not a
	// scan.
	Unique *model.UniqueKey
}

// Page is one page of a listing.
type Page struct {
	Items []model.Entity
	// Next is the offset of the following page; empty on the last page.
	Next string
}

// Change is one entry of the change history: what one revision changed.
type Change struct {
	Revision int64    `json:"revision"`
	Time     int64    `json:"time"`
	Origin   Origin   `json:"origin"`
	Summary  []string `json:"summary"`
}

// Store is the configuration store.
type Store interface {
	// Get returns the entity of kind k whose id, or endpoint key
	// (model.KindInfo.EndpointKey), is idOrKey; a *model.Error with
	// CodeNotFound when there is none. A target's key is
	// "<upstream id>:<target>", or the bare target (the first by id);
	// a key in the first form (QualifiedTarget) is not also looked for
	// as a bare target.
	Get(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, error)
	// GetVersioned is Get that also returns the entity's version, the
	// precondition of an Update or Delete computed from what was read.
	GetVersioned(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, Version, error)
	// List returns a page of entities of kind k in id order. A bad
	// Offset gives CodeInvalidOffset.
	List(ctx context.Context, k model.Kind, opts ListOptions) (Page, error)
	// Create inserts e, whose id and timestamps the caller set. It fails
	// with CodePrimaryKeyViolation if the id exists, CodeUniqueViolation,
	// or CodeForeignKeyViolation if a reference does not exist.
	Create(ctx context.Context, e model.Entity, o Origin) (rev int64, err error)
	// Update replaces the entity with e's id by e, provided it is still at
	// version ver: ErrConflict if it changed since it was read, a
	// *model.Error with CodeNotFound if it is gone (Update never inserts),
	// and the unique and foreign key checks of Create.
	Update(ctx context.Context, e model.Entity, ver Version, o Origin) (rev int64, err error)
	// Delete removes the entity of kind k with id, cascading as Kong does
	// (a consumer's credentials and plugins, a service's or route's
	// plugins, an upstream's targets, a certificate's snis) and refusing
	// as Kong does when other entities still point to it: routes to a
	// service, a service or upstream to its client certificate give
	// CodeForeignKeyViolation ("an existing 'routes' entity references
	// this 'services' entity"), a service to a CA certificate gives
	// CodeReferencedByOthers. Deleting an absent entity is not an error and
	// does not raise the revision: rev is then the current revision. Unless
	// ver is AnyVersion, the entity must still be at version ver
	// (ErrConflict otherwise); the cascade and the restricting references
	// are read and removed in the same conditional write.
	Delete(ctx context.Context, k model.Kind, id string, ver Version, o Origin) (rev int64, err error)
	// ReplaceAll replaces the whole configuration as one revision,
	// whatever its size.
	ReplaceAll(ctx context.Context, cfg *model.Config, o Origin) (rev int64, err error)
	// Revision returns the current revision, strongly consistent.
	Revision(ctx context.Context) (int64, error)
	// Export returns every entity and the revision they are at, read
	// consistently; it never returns a partial set (ErrUnstable when
	// concurrent writes kept it from reading one).
	Export(ctx context.Context) (*model.Config, int64, error)
	// ChangedSince returns what changed after revision base up to the
	// current revision (ChangeSet), read consistently from the change log
	// and the entities it names, never from a scan of the configuration:
	// ErrLogGap when the log cannot tell (the caller exports), ErrUnstable
	// when concurrent writes kept it from reading one revision.
	ChangedSince(ctx context.Context, base int64) (*ChangeSet, error)
	// ConfigHash returns the configuration hash (snapshot.ConfigHash)
	// recorded for the current revision rev; ok is false when none is
	// recorded for it (a write came after the last record).
	ConfigHash(ctx context.Context) (hash string, rev int64, ok bool, err error)
	// RecordConfigHash keeps hash as the configuration hash of revision
	// rev, computed by whoever read that revision whole (the publisher,
	// or GET /status once). A record of a newer revision is kept: a late
	// record never replaces it. It does not raise the revision.
	RecordConfigHash(ctx context.Context, rev int64, hash string) error
	// Changes returns the history entries after revision since, oldest
	// first, at most limit of them (0 means 100).
	Changes(ctx context.Context, since int64, limit int) ([]Change, error)
	// Identity returns the store's cluster identity, creating it when the
	// store has none yet.
	Identity(ctx context.Context) (Identity, error)
	// NewEpoch moves the store's identity from `from` to epoch `to`
	// (greater than from.Epoch), and records this store as the one the
	// epoch began in. It fails with ErrEpochMoved when the identity is no
	// longer from.
	NewEpoch(ctx context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error)
}
