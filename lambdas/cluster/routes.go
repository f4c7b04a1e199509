package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
)

// hello records the data plane and, when it runs an older revision than
// the published one, tells it at once (a server cannot post during
// $connect, so this is the first moment it can).
func (h *Handler) hello(ctx context.Context, rc events.APIGatewayWebsocketProxyRequestContext, body string, log *slog.Logger) error {
	var m protocol.Hello
	if err := decode(body, &m, &m.NodeID, &m.ConfigHash); err != nil {
		return err
	}
	if err := checkIdentity(m.Hostname, m.Version, m.Labels, m.Plugins); err != nil {
		return err
	}
	if err := checkCluster(m.ClusterID, m.Epoch, ""); err != nil {
		return err
	}
	owner, err := h.bind(ctx, rc, m.NodeID)
	if err != nil {
		return err
	}
	var n Node
	err = h.updateNode(ctx, m.NodeID, owner, func(row *Node) {
		row.Hostname, row.Version, row.Labels = m.Hostname, m.Version, m.Labels
		row.Revision, row.ConfigHash, row.Plugins = m.Revision, m.ConfigHash, m.Plugins
		row.ClusterID, row.Epoch = m.ClusterID, m.Epoch
		// A refusal for another cluster is the data plane's setting to
		// change (--adopt-cluster): after a hello, that revision is
		// announced again.
		if row.Reason == protocol.ReasonClusterMismatch {
			row.RejectedRevision = 0
		}
		h.seen(row, rc.Identity.SourceIP)
		n = *row
	})
	if err != nil {
		return err
	}
	p, _, err := ReadLatest(ctx, h.opts.Objects)
	h.catchUp(ctx, rc.ConnectionID, n, p, err, false, log)
	return nil
}

// catchUp posts the latest pointer p (read with err) to a data plane that
// is behind, or, under a rollout policy, its wave's pointer from
// released.json (the one read for an earlier status when cached). A
// failure is only logged: the data plane also polls the fallback store.
func (h *Handler) catchUp(ctx context.Context, connID string, n Node, p snapshot.Pointer, err error, cached bool, log *slog.Logger) {
	if errors.Is(err, objstore.ErrNotFound) {
		return
	}
	if err != nil {
		log.WarnContext(ctx, "reading the published pointer", "error", err)
		return
	}
	// Under a rollout policy the data plane is told its wave's pointer.
	var released wave.Released
	var staged bool
	if cached {
		released, staged, err = h.released.get(ctx, h.opts.Objects, h.opts.Clock())
	} else {
		released, staged, err = ReadReleased(ctx, h.opts.Objects)
	}
	if err != nil {
		log.WarnContext(ctx, "reading the released pointers", "error", err)
		return
	}
	p = Released(released, staged, p, n.Labels)
	if !Behind(n, p) {
		return
	}
	payload, err := Notice(ctx, p, h.opts.Presigner)
	if err != nil {
		log.WarnContext(ctx, "building config notice", "error", err)
		return
	}
	err = h.opts.Notifier.Post(ctx, connID, payload)
	switch {
	case errors.Is(err, ErrGone):
		if err := h.opts.Registry.DeleteConnection(ctx, connID); err != nil {
			log.WarnContext(ctx, "deleting gone connection", "error", err)
		}
	case err != nil:
		log.WarnContext(ctx, "posting config notice", "revision", p.Revision, "error", err)
	}
}

// status records an apply result or a heartbeat, for the node the
// connection said hello as, and tells a data plane still behind the
// published pointer (it missed a notice) about it: the pointer read at
// most LatestTTL ago serves, so a fleet's heartbeats cost few reads.
func (h *Handler) status(ctx context.Context, rc events.APIGatewayWebsocketProxyRequestContext, body string, log *slog.Logger) error {
	var m protocol.Status
	if err := decode(body, &m, &m.NodeID, &m.ConfigHash); err != nil {
		return err
	}
	switch m.State {
	case protocol.StateApplied, protocol.StateRejected:
	default:
		return fmt.Errorf("%w: state must be %q or %q", errBadRequest, protocol.StateApplied, protocol.StateRejected)
	}
	if err := checkCluster(m.ClusterID, m.Epoch, m.Reason); err != nil {
		return err
	}
	owner, err := h.bound(ctx, rc, m.NodeID)
	if err != nil {
		return err
	}
	m.Error = truncate(m.Error, maxErrorLength)
	if m.State == protocol.StateRejected {
		// The stack's metric filter counts these lines ({ $.state = "rejected" }).
		h.opts.Logger.WarnContext(ctx, "dp status", "node_id", m.NodeID, "state", m.State,
			"revision", m.Revision, "rejected_revision", m.RejectedRevision, "reason", m.Reason, "error", m.Error)
	}
	row, err := h.record(ctx, m, owner, rc.Identity.SourceIP)
	if err != nil {
		return err
	}
	p, err := h.latest.get(ctx, h.opts.Objects, h.opts.Clock())
	h.catchUp(ctx, rc.ConnectionID, row, p, err, true, log)
	return nil
}

// record writes status m to the node's row, unless it changes nothing but
// the row's liveness and the row is recent (unchanged); it returns the row.
func (h *Handler) record(ctx context.Context, m protocol.Status, owner, ip string) (Node, error) {
	row, fresh := h.unchanged(ctx, m, ip)
	if fresh {
		return row, nil
	}
	err := h.updateNode(ctx, m.NodeID, owner, func(n *Node) {
		n.Revision, n.ConfigHash, n.State = m.Revision, m.ConfigHash, m.State
		n.ClusterID, n.Epoch = m.ClusterID, m.Epoch
		n.Requests, n.Errors5xx = max(m.Requests, 0), max(m.Errors5xx, 0)
		n.Health = validHealth(m.Health)
		if m.State == protocol.StateRejected {
			n.Error, n.Reason = m.Error, m.Reason
			if m.RejectedRevision != 0 {
				n.RejectedRevision = m.RejectedRevision
			}
		} else {
			n.Error, n.Reason = "", ""
		}
		h.seen(n, ip)
		row = *n
	})
	return row, err
}

// HeartbeatWrite is how often a status that changes nothing but the data
// plane's liveness is written to its row: every other 4-minute heartbeat,
// well inside DefaultStaleAfter, so registry writes per data plane stay
// near eight an hour plus one per apply.
const HeartbeatWrite = 7 * time.Minute

// unchanged returns the node's row when status m changes nothing in it
// (its targets' health and traffic counts included: a staged rollout's
// halt conditions read the counts)
// and the row was written less than HeartbeatWrite ago: the status needs
// no write. A failed read answers false (the status is written).
func (h *Handler) unchanged(ctx context.Context, m protocol.Status, ip string) (Node, bool) {
	n, err := h.opts.Registry.GetNode(ctx, m.NodeID)
	if err != nil {
		return Node{}, false
	}
	same := n.Revision == m.Revision && n.ConfigHash == m.ConfigHash && n.State == m.State &&
		n.ClusterID == m.ClusterID && n.Epoch == m.Epoch && (ip == "" || n.IP == ip) &&
		n.Requests == max(m.Requests, 0) && n.Errors5xx == max(m.Errors5xx, 0) &&
		slices.Equal(n.Health, validHealth(m.Health))
	if m.State == protocol.StateRejected {
		same = same && n.Error == m.Error && n.Reason == m.Reason &&
			(m.RejectedRevision == 0 || n.RejectedRevision == m.RejectedRevision)
	} else {
		same = same && n.Error == "" && n.Reason == ""
	}
	return n, same && h.opts.Clock().Sub(time.Unix(n.LastSeen, 0)) < HeartbeatWrite
}

// bound returns the credential a connection's row counts against when
// the connection is bound to nodeID already (a read), else binds it (a
// write), as the first message on a connection does.
func (h *Handler) bound(ctx context.Context, rc events.APIGatewayWebsocketProxyRequestContext, nodeID string) (string, error) {
	c, err := h.opts.Registry.GetConnection(ctx, rc.ConnectionID)
	if err != nil || c.NodeID != nodeID {
		return h.bind(ctx, rc, nodeID)
	}
	if c.Owner != "" {
		return c.Owner, nil
	}
	return principal(rc), nil
}

// validHealth keeps the well-formed entries of a status's health, at most
// protocol.MaxHealth: a data plane's report is bounded before it is kept.
func validHealth(in []protocol.TargetHealth) []protocol.TargetHealth {
	var out []protocol.TargetHealth
	for _, th := range in {
		if len(out) == protocol.MaxHealth {
			break
		}
		switch th.Health {
		case protocol.HealthHealthy, protocol.HealthUnhealthy, protocol.HealthOff:
		default:
			continue
		}
		if len(th.UpstreamID) != 36 || th.Target == "" || len(th.Target) > 300 {
			continue
		}
		out = append(out, th)
	}
	return out
}
