package history

import (
	"fmt"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// States of a record.
const (
	// StatePublished: the snapshot is written and signed.
	StatePublished = "published"
	// StateRefused: the publisher would not sign the revision, since a
	// data plane would reject it (Error says why); nothing was published.
	StateRefused = "refused"
)

// Record is what the history knows of one revision.
type Record struct {
	// Revision is the store's revision.
	Revision int64 `json:"revision"`
	// CreatedAt is when the revision was published or refused (epoch
	// seconds).
	CreatedAt int64 `json:"created_at"`
	// ConfigHash is the data planes' config hash of the revision.
	ConfigHash string `json:"config_hash"`
	// ClusterID and Epoch are the identity it was published under.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// State is StatePublished or StateRefused; Error the refusal.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Entities counts the configuration's entities by kind.
	Entities map[string]int `json:"entities"`
	// Changes summarizes the differences from the revision Since, the one
	// published before it (0: the empty configuration).
	Changes Summary `json:"changes"`
	Since   int64   `json:"since"`
	// Full and Chain, for a revision published as deltas only, are the
	// revision of the full snapshot it is reached from and the deltas
	// that lead there (snapshot.Pointer's): Config rebuilds it from them.
	Full  int64               `json:"full,omitempty"`
	Chain []snapshot.DeltaRef `json:"chain,omitempty"`
}

// Identity is the identity the record was made under.
func (r Record) Identity() snapshot.Identity {
	return snapshot.Identity{ClusterID: r.ClusterID, Epoch: r.Epoch}
}

// Key is where revision rev's record of identity id is stored:
// revisions/<cluster_id>/<epoch>/<revision, 20 digits>.json beside
// snapshots/…, or revisions/<revision>.json for the zero identity.
func Key(id snapshot.Identity, rev int64) string {
	return prefix(id) + fmt.Sprintf("%020d.json", rev)
}

// prefix is the directory of identity id's records.
func prefix(id snapshot.Identity) string {
	if id.IsZero() {
		return "revisions/"
	}
	return fmt.Sprintf("revisions/%s/%d/", id.ClusterID, id.Epoch)
}
