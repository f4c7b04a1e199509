package snapshot

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrIdentity reports a snapshot whose document names another cluster or
// epoch than the pointer that announced it, or an identity that is not
// well formed.
var ErrIdentity = errors.New("snapshot identity mismatch")

// Identity names the control plane a snapshot comes from: its cluster, a
// random id created with its configuration store, and the store's epoch,
// which starts at 1 and grows when the store is restored from a backup
// (revisions may then go back). Every snapshot document, latest.json and
// config notice carries it; a data plane keeps the identity it runs and
// refuses another cluster, or an older epoch, loudly.
//
// The zero Identity is a snapshot published before identities existed.
type Identity struct {
	// ClusterID is a lowercase UUID (8-4-4-4-12 hex digits).
	ClusterID string `json:"cluster_id,omitempty"`
	// Epoch is 1 or more when ClusterID is set, 0 otherwise.
	Epoch int64 `json:"epoch,omitempty"`
}

// IsZero reports whether id is the identity of an unidentified snapshot.
func (id Identity) IsZero() bool { return id == Identity{} }

// String is "<cluster_id>/<epoch>", or "unidentified".
func (id Identity) String() string {
	if id.IsZero() {
		return "unidentified"
	}
	return id.ClusterID + "/" + strconv.FormatInt(id.Epoch, 10)
}

// Check refuses an identity that is not the zero Identity nor a lowercase
// UUID with an epoch of 1 or more: it becomes part of object keys.
func (id Identity) Check() error {
	switch {
	case id.IsZero():
		return nil
	case !IsClusterID(id.ClusterID):
		return fmt.Errorf("%w: cluster id %q is not a lowercase UUID", ErrIdentity, id.ClusterID)
	case id.Epoch < 1:
		return fmt.Errorf("%w: epoch %d of cluster %s (1 or more)", ErrIdentity, id.Epoch, id.ClusterID)
	}
	return nil
}

// Key returns the object key of revision rev's snapshot below the prefix:
// snapshots/<cluster_id>/<epoch>/<revision, 20 digits>.json.gz, so two
// epochs (or clusters) never share a key; Key(rev) for the zero Identity.
func (id Identity) Key(rev int64) string {
	if id.IsZero() {
		return Key(rev)
	}
	return fmt.Sprintf("snapshots/%s/%d/%020d.json.gz", id.ClusterID, id.Epoch, rev)
}

// IsClusterID reports whether s is a cluster id: a UUID in its canonical
// lowercase form.
func IsClusterID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
