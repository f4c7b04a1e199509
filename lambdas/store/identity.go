package store

import (
	"errors"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// ErrEpochMoved is returned by NewEpoch when the store's identity is no
// longer the one the new epoch was computed from: another process started
// an epoch first. The caller reads the identity again.
var ErrEpochMoved = errors.New("the store's epoch was moved by another process")

// Identity is the cluster identity a store holds: a cluster id created
// with the store, never changed, and an epoch that a restore from a backup
// moves forward (see the package doc).
type Identity struct {
	snapshot.Identity
	// Restored reports that the store is a restored copy of the store its
	// epoch began in, as far as the store can tell (DynamoDB: the table is
	// another table than the one the identity recorded). The publisher
	// then starts a new epoch.
	Restored bool
}
