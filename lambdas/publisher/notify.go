package publisher

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// Notify posts ptr's config notice to every connection whose data plane
// is behind it (cluster.Behind), at most Concurrency at a time; under a
// rollout policy, each data plane's wave's pointer in released.json
// instead. A
// connection that is gone loses its row; other post failures are logged,
// since data planes also catch up on their next hello or poll. Only a
// failure to list the registry is returned.
func (p *Publisher) Notify(ctx context.Context, ptr snapshot.Pointer) error {
	if p.opts.Notifier == nil || p.opts.Connections == nil {
		return nil
	}
	conns, err := p.opts.Connections.ListConnections(ctx)
	if err != nil {
		return fmt.Errorf("listing connections: %w", err)
	}
	if len(conns) == 0 {
		return nil
	}
	nodes, err := p.opts.Connections.ListNodes(ctx)
	if err != nil {
		return fmt.Errorf("listing data planes: %w", err)
	}
	byID := make(map[string]cluster.Node, len(nodes))
	for _, n := range nodes {
		byID[n.NodeID] = n
	}
	released, staged, err := cluster.ReadReleased(ctx, p.opts.Objects)
	if err != nil {
		return err
	}
	payloads := map[snapshot.Pointer][]byte{}
	sem := make(chan struct{}, p.opts.Concurrency)
	var wg sync.WaitGroup
	for _, c := range conns {
		node := byID[c.NodeID]
		ptr := cluster.Released(released, staged, ptr, node.Labels)
		if !cluster.Behind(node, ptr) {
			continue
		}
		payload, ok := payloads[ptr]
		if !ok {
			if payload, err = cluster.Notice(ctx, ptr, p.opts.Presigner); err != nil {
				wg.Wait()
				return err
			}
			payloads[ptr] = payload
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("notifying data planes: %w", ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.post(ctx, c.ID, ptr.Revision, payload)
		}()
	}
	wg.Wait()
	return nil
}

func (p *Publisher) post(ctx context.Context, connID string, rev int64, payload []byte) {
	log := p.opts.Logger.With("connection_id", connID, "revision", rev)
	err := p.opts.Notifier.Post(ctx, connID, payload)
	switch {
	case errors.Is(err, cluster.ErrGone):
		if err := p.opts.Connections.DeleteConnection(ctx, connID); err != nil {
			log.WarnContext(ctx, "deleting gone connection", "error", err)
		}
	case err != nil:
		log.WarnContext(ctx, "posting config notice", "error", err)
	}
}
