package sync

import (
	"errors"
	"fmt"
	stdsync "sync"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// ErrClusterMismatch: the snapshot belongs to another cluster than the one
// the data plane runs (or its cache marks), or to an older epoch of it.
// The status message says so with protocol.ReasonClusterMismatch.
var ErrClusterMismatch = errors.New("snapshot of another cluster")

// verdict is what the identity rules say of an announced snapshot.
type verdict int

const (
	// follow: the same identity at a newer revision, or nothing known.
	follow verdict = iota
	// notNewer: the same identity at the running revision or an older one.
	notNewer
	// newEpoch: a newer epoch of the same cluster (its store was restored):
	// followed whatever its revision, the mark replaced.
	newEpoch
	// adopt: another cluster the data plane is allowed to adopt, or the
	// first identified snapshot after unidentified ones, not going back:
	// followed, the mark replaced.
	adopt
	// otherCluster: another cluster, not allowed: refused.
	otherCluster
	// olderEpoch: an older epoch of the running cluster: refused.
	olderEpoch
)

// lineage is what a snapshot is judged against: the identity of the
// running configuration or, while nothing runs, of the cache's mark.
type lineage struct {
	id snapshot.Identity
	// known is whether anything ran or was marked.
	known bool
	// running is the running revision (0 when nothing runs); marked is
	// the mark's revision.
	running, marked int64
}

// judge applies the identity rules (ARCHITECTURE.md, "Contracts") to p:
//
//   - nothing known: follow;
//   - the same identity: follow a newer revision, ignore the others;
//   - the same cluster: follow a newer epoch whatever its revision
//     (the store was restored), refuse an older one;
//   - an unidentified lineage meeting an identified snapshot (a control
//     plane upgraded to identities): adopt it unless it goes back below
//     the running or marked revision;
//   - another cluster: refuse, unless allowed to adopt it.
func judge(l lineage, p snapshot.Pointer, allowAdopt bool) verdict {
	id := p.Identity()
	switch {
	case !l.known:
		return follow
	case id == l.id && p.Revision > l.running:
		return follow
	case id == l.id:
		return notNewer
	case l.id.ClusterID != "" && id.ClusterID == l.id.ClusterID && id.Epoch > l.id.Epoch:
		return newEpoch
	case l.id.ClusterID != "" && id.ClusterID == l.id.ClusterID:
		return olderEpoch
	case allowAdopt, l.id.IsZero() && !id.IsZero() && p.Revision >= max(l.running, l.marked):
		return adopt
	}
	return otherCluster
}

// refuse explains a refused verdict as an ErrClusterMismatch error.
func refuse(v verdict, l lineage, p snapshot.Pointer) error {
	what := "runs"
	if l.running == 0 {
		what = "cached"
	}
	if v == olderEpoch {
		return fmt.Errorf("%w: revision %d of epoch %d of cluster %s refused: this data plane %s epoch %d of that cluster, a newer one "+
			"(a control plane still publishing from the store as it was before a restore?)",
			ErrClusterMismatch, p.Revision, p.Epoch, p.ClusterID, what, l.id.Epoch)
	}
	return fmt.Errorf("%w: revision %d of %s refused: this data plane %s revision %d of %s; "+
		"to follow the new control plane, allow adopting it (skyport dp --adopt-cluster) or remove the cache",
		ErrClusterMismatch, p.Revision, describe(p.Identity()), what, max(l.running, l.marked), describe(l.id))
}

func describe(id snapshot.Identity) string {
	if id.IsZero() {
		return "a control plane that does not identify its cluster"
	}
	return fmt.Sprintf("cluster %s (epoch %d)", id.ClusterID, id.Epoch)
}

// identity tracks the lineage a data plane runs.
type identity struct {
	mu stdsync.Mutex
	l  lineage
}

// lineage returns the lineage, with running as the running revision (a
// configuration running with no identity recorded is an unidentified one).
func (t *identity) lineage(running int64) lineage {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.l
	l.running = running
	l.known = l.known || running > 0
	return l
}

// marked records the cache's mark, while nothing runs.
func (t *identity) marked(id snapshot.Identity, rev int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.l = lineage{id: id, known: true, marked: rev}
}

// applied records the identity of the configuration now running.
func (t *identity) applied(id snapshot.Identity) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.l = lineage{id: id, known: true}
}

// running returns the identity of the running configuration, zero when
// nothing runs.
func (t *identity) running(rev int64) snapshot.Identity {
	if rev == 0 {
		return snapshot.Identity{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.l.id
}

// newer orders two announcements for the queue: 1 when b supersedes a
// (a newer revision of the same identity, a newer epoch of the same
// cluster, or another cluster's, the latest word), -1 when it does not,
// 0 for the same revision of the same identity.
func newer(a, b snapshot.Pointer) int {
	switch {
	case a.Identity() == b.Identity() && b.Revision == a.Revision:
		return 0
	case a.Identity() == b.Identity() && b.Revision > a.Revision:
		return 1
	case a.Identity() == b.Identity():
		return -1
	case a.ClusterID != "" && a.ClusterID == b.ClusterID && b.Epoch < a.Epoch:
		return -1
	}
	return 1
}
