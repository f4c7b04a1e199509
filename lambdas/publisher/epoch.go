package publisher

import (
	"context"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// supersedes reports whether revision rev of identity id may replace cur
// as latest.json: nothing published yet, a newer revision of the same
// epoch, any revision of a newer epoch of the same cluster, or another
// cluster's (or an unidentified) pointer. Never an older epoch.
func supersedes(cur snapshot.Pointer, id snapshot.Identity, rev int64) bool {
	switch {
	case cur.Revision == 0:
		return true
	case cur.Identity() == id:
		return rev > cur.Revision
	case cur.ClusterID == id.ClusterID:
		return id.Epoch > cur.Epoch
	}
	return true
}

// restored says why the store must start a new epoch before it publishes,
// or "" when it need not: it reports itself restored, or it is behind what
// its own cluster published (an older epoch, or a lower revision of the
// same epoch). Read after the pointer, a store that did not go back is
// never behind it.
func restored(sid store.Identity, rev int64, cur snapshot.Pointer) string {
	same := cur.Revision > 0 && cur.ClusterID == sid.ClusterID
	switch {
	case sid.Restored:
		return "the store is a restored copy of the one its epoch began in"
	case same && cur.Epoch > sid.Epoch:
		return fmt.Sprintf("latest.json is at epoch %d of this cluster, the store at epoch %d", cur.Epoch, sid.Epoch)
	case same && cur.Epoch == sid.Epoch && rev < cur.Revision:
		return fmt.Sprintf("the store's revision %d is behind revision %d its epoch published", rev, cur.Revision)
	}
	return ""
}

// newEpoch starts the epoch after both the store's and the pointer's. When
// another publisher started one first, that one is used.
func (p *Publisher) newEpoch(ctx context.Context, from snapshot.Identity, cur snapshot.Pointer, why string) (snapshot.Identity, error) {
	to := from.Epoch + 1
	if cur.ClusterID == from.ClusterID && cur.Epoch >= to {
		to = cur.Epoch + 1
	}
	id, err := p.opts.Source.NewEpoch(ctx, from, to)
	if errors.Is(err, store.ErrEpochMoved) {
		sid, err := p.opts.Source.Identity(ctx)
		if err != nil {
			return snapshot.Identity{}, fmt.Errorf("reading the cluster identity: %w", err)
		}
		return sid.Identity, nil
	}
	if err != nil {
		return snapshot.Identity{}, err
	}
	p.opts.Logger.WarnContext(ctx, "the configuration store was restored: publishing a new epoch, which data planes follow even where its revisions are lower",
		"reason", why, "cluster_id", id.ClusterID, "epoch", id.Epoch, "previous_epoch", from.Epoch)
	return id, nil
}

// replacing logs a publication over another cluster's pointer: the data
// planes of that cluster refuse it, loudly, unless told to adopt it.
func (p *Publisher) replacing(ctx context.Context, cur snapshot.Pointer, id snapshot.Identity) {
	switch {
	case cur.Revision == 0 || cur.ClusterID == id.ClusterID:
	case cur.ClusterID == "":
		p.opts.Logger.InfoContext(ctx, "latest.json was published before cluster identities; publishing with this cluster's",
			"cluster_id", id.ClusterID, "epoch", id.Epoch, "previous_revision", cur.Revision)
	default:
		p.opts.Logger.WarnContext(ctx, "latest.json names another cluster: replacing it (data planes of that cluster refuse this one unless they adopt it)",
			"cluster_id", id.ClusterID, "previous_cluster_id", cur.ClusterID, "previous_revision", cur.Revision)
	}
}
