package publisher

import (
	"context"
	"fmt"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/history"
)

// record writes the history record of revision r of identity id, whose
// configuration hashes to hash, against the revision cur names (the one
// published before it: r's base when known, else read from the history),
// with state and, for a refusal, why.
func (p *Publisher) record(ctx context.Context, id snapshot.Identity, r revision, hash string, cur snapshot.Pointer, at time.Time, state, why string) error {
	if p.opts.History == nil {
		return nil
	}
	rev, cfg := r.rev, r.cfg
	var prev *model.Config
	var since int64
	if r.base != nil && cur.Revision < rev {
		prev, since = r.base, cur.Revision
	} else if cur.Revision > 0 && cur.Identity() == id && cur.Revision < rev {
		c, err := p.opts.History.Config(ctx, id, cur.Revision)
		if err != nil {
			// The summary is then against the empty configuration, said
			// by since = 0; the publication goes on.
			p.opts.Logger.WarnContext(ctx, "reading the previous revision for the change summary", "revision", cur.Revision, "error", err)
		} else {
			prev, since = c, cur.Revision
		}
	}
	var summary history.Summary
	if r.changes != nil && prev == r.base {
		summary = history.Summarize(r.changes)
	} else {
		// Counted, not listed: after a replace of every entity the
		// changes would be as many as the entities.
		summary = history.DiffSummary(prev, cfg)
	}
	rec := history.Record{
		Revision: rev, CreatedAt: at.Unix(), ConfigHash: hash,
		ClusterID: id.ClusterID, Epoch: id.Epoch, State: state, Error: why,
		Entities: history.Count(cfg), Changes: summary, Since: since,
		Full: r.ptr.Full, Chain: r.ptr.Chain,
	}
	if err := p.opts.History.Put(ctx, rec); err != nil {
		return fmt.Errorf("recording revision %d in the history: %w", rev, err)
	}
	return nil
}

// recordFull marks revision rev's history record as one with its own
// full snapshot, sealed after the record named the chain it was first
// published with (compactTo): the history then no longer keeps that
// chain's full snapshot and deltas for it. The record is rewritten only
// over the one read (history.Log.Update): one removed or rewritten
// meanwhile is left. A failure (or a crash before) leaves the record
// naming the chain, which keeps more, not less; it is logged.
func (p *Publisher) recordFull(ctx context.Context, id snapshot.Identity, rev int64) {
	if p.opts.History == nil {
		return
	}
	err := p.opts.History.Update(ctx, id, rev, func(rec *history.Record) bool {
		if rec.Full == 0 && len(rec.Chain) == 0 {
			return false
		}
		rec.Full, rec.Chain = 0, nil
		return true
	})
	if err != nil {
		p.opts.Logger.WarnContext(ctx, "recording a revision's full snapshot in the history", "revision", rev, "error", err)
	}
}

// prune removes history past the retention; a failure only delays it.
func (p *Publisher) prune(ctx context.Context, latest snapshot.Pointer) {
	if p.opts.History == nil || !p.opts.PruneHistory || latest.Revision == 0 {
		return
	}
	n, err := p.opts.History.Prune(ctx, latest.Identity(), latest.Revision, latest.FullRevision())
	if err != nil {
		p.opts.Logger.WarnContext(ctx, "pruning the history", "error", err)
		return
	}
	if n > 0 {
		p.opts.Logger.InfoContext(ctx, "pruned the history", "revisions", n)
	}
}

// refuse records that revision rev, whose configuration a data plane
// would reject (why), is not published: latest.json stays where it is,
// so data planes stay on the last good revision. A refusal already
// recorded for the same configuration is not repeated.
func (p *Publisher) refuse(ctx context.Context, id snapshot.Identity, r revision, hash string, cur snapshot.Pointer, why error) error {
	rev := r.rev
	if p.opts.History != nil {
		rec, err := p.opts.History.Get(ctx, id, rev, rev)
		if err == nil && rec.State == history.StateRefused && rec.ConfigHash == hash {
			return nil
		}
	}
	p.opts.Logger.ErrorContext(ctx, "revision refused", "revision", rev, "cluster_id", id.ClusterID, "epoch", id.Epoch,
		"published", cur.Revision, "error", why)
	if p.opts.OnRefused != nil {
		p.opts.OnRefused(rev, why)
	}
	return p.record(ctx, id, r, hash, cur, p.opts.Clock(), history.StateRefused, why.Error())
}
