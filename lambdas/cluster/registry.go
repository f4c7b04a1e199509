package cluster

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/internal/protocol"
)

// ErrNotFound is returned by a Registry when a connection or data-plane
// row does not exist (or has expired).
var ErrNotFound = errors.New("cluster row not found")

// Default lifetimes of the rows. A WebSocket connection lives at most 2
// hours in API Gateway; a data plane that stops reporting is forgotten
// after Kong's cluster_data_plane_purge_delay (14 days).
const (
	DefaultConnectionTTL = 3 * time.Hour
	DefaultDataPlaneTTL  = 14 * 24 * time.Hour
)

// Connection is one open WebSocket connection of a data plane.
type Connection struct {
	// ID is API Gateway's connection id.
	ID string `json:"id"`
	// NodeID is the data plane's node id, known after its hello.
	NodeID string `json:"node_id,omitempty"`
	// IP is the source address of the upgrade request.
	IP string `json:"ip,omitempty"`
	// ConnectedAt is when the connection opened (epoch seconds).
	ConnectedAt int64 `json:"connected_at"`
	// ExpiresAt is when the row is forgotten (epoch seconds).
	ExpiresAt int64 `json:"expires_at"`
}

// Node is the status row of one data plane, as its hello and status
// messages report it.
type Node struct {
	NodeID     string            `json:"node_id"`
	Hostname   string            `json:"hostname,omitempty"`
	Version    string            `json:"version,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	IP         string            `json:"ip,omitempty"`
	Revision   int64             `json:"revision"`
	ConfigHash string            `json:"config_hash,omitempty"`
	// State is the last apply result: applied or rejected; empty before
	// the first status.
	State string `json:"state,omitempty"`
	// Error is why the last rejected revision was refused.
	Error string `json:"error,omitempty"`
	// RejectedRevision is the last revision the data plane refused; it is
	// not sent to it again.
	RejectedRevision int64    `json:"rejected_revision,omitempty"`
	LastSeen         int64    `json:"last_seen"`
	UpdatedAt        int64    `json:"updated_at"`
	Plugins          []string `json:"plugins,omitempty"`
	// ExpiresAt is when the row is forgotten (epoch seconds).
	ExpiresAt int64 `json:"expires_at"`
}

// Registry is the cluster table: connections and data-plane rows. Rows
// past their ExpiresAt are never returned, whether or not the store has
// removed them yet.
type Registry interface {
	// PutConnection creates or replaces a connection row.
	PutConnection(ctx context.Context, c Connection) error
	// GetConnection returns a connection row or ErrNotFound.
	GetConnection(ctx context.Context, id string) (Connection, error)
	// DeleteConnection removes a connection row; absent is not an error.
	DeleteConnection(ctx context.Context, id string) error
	// ListConnections returns every live connection, sorted by id.
	ListConnections(ctx context.Context) ([]Connection, error)
	// PutNode creates or replaces a data-plane row.
	PutNode(ctx context.Context, n Node) error
	// GetNode returns a data-plane row or ErrNotFound.
	GetNode(ctx context.Context, nodeID string) (Node, error)
	// ListNodes returns every live data-plane row, sorted by node id.
	ListNodes(ctx context.Context) ([]Node, error)
	// ListDataPlanes returns the rows of GET /clustering/data-planes.
	ListDataPlanes(ctx context.Context) ([]DataPlane, error)
}

// DataPlanes converts data-plane rows to the Admin API's view at now.
func DataPlanes(nodes []Node, now time.Time) []DataPlane {
	out := make([]DataPlane, 0, len(nodes))
	for _, n := range nodes {
		if !live(n.ExpiresAt, now) {
			continue
		}
		var ttl int64
		if n.ExpiresAt != 0 {
			ttl = n.ExpiresAt - now.Unix()
		}
		labels := n.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		out = append(out, DataPlane{
			ID:         n.NodeID,
			IP:         n.IP,
			Hostname:   n.Hostname,
			Version:    n.Version,
			ConfigHash: n.ConfigHash,
			LastSeen:   n.LastSeen,
			UpdatedAt:  n.UpdatedAt,
			SyncStatus: syncStatus(n),
			Labels:     labels,
			TTL:        ttl,
			Revision:   n.Revision,
			State:      n.State,
			Error:      n.Error,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func syncStatus(n Node) string {
	switch {
	case n.State == protocol.StateApplied:
		return SyncNormal
	case n.State == protocol.StateRejected && strings.Contains(n.Error, SyncPluginSetIncompatible):
		return SyncPluginSetIncompatible
	case n.State == protocol.StateRejected && strings.Contains(n.Error, SyncKongVersionIncompatible):
		return SyncKongVersionIncompatible
	}
	return SyncUnknown
}

// live reports whether a row expiring at expiresAt is still alive at now.
func live(expiresAt int64, now time.Time) bool {
	return expiresAt == 0 || expiresAt > now.Unix()
}
