package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/internal/protocol"
)

// Errors a Registry returns.
var (
	// ErrNotFound: a connection or data-plane row does not exist (or has
	// expired).
	ErrNotFound = errors.New("cluster row not found")
	// ErrNodeMismatch: the connection already said hello as another node.
	ErrNodeMismatch = errors.New("connection bound to another node")
	// ErrNodeLimit: the credential already has its limit of data-plane
	// rows, none of them stale enough to be replaced.
	ErrNodeLimit = errors.New("too many data planes for this credential")
	// ErrInvalidOffset: a list offset this registry did not hand out.
	ErrInvalidOffset = errors.New("invalid offset")
	// ErrConflict: a row kept changing under a conditional write, through
	// every retry.
	ErrConflict = errors.New("cluster row changed concurrently")
)

// Default lifetimes and limits of the rows. A WebSocket connection lives
// at most 2 hours in API Gateway; a data plane that stops reporting is
// forgotten after Kong's cluster_data_plane_purge_delay (14 days). A
// credential (the data planes' shared token, or one IAM principal) keeps
// at most DefaultNodeLimit data-plane rows; when it is at the limit, a new
// node replaces the row seen least recently if that row has not been seen
// for DefaultStaleAfter (more than three missed 4-minute heartbeats), and
// is refused otherwise.
const (
	DefaultConnectionTTL = 3 * time.Hour
	DefaultDataPlaneTTL  = 14 * 24 * time.Hour
	DefaultNodeLimit     = 1000
	DefaultStaleAfter    = 15 * time.Minute
)

// Connection is one open WebSocket connection of a data plane.
type Connection struct {
	// ID is API Gateway's connection id.
	ID string `json:"id"`
	// NodeID is the data plane's node id, fixed by its first hello.
	NodeID string `json:"node_id,omitempty"`
	// Owner is the credential that opened the connection (the
	// authorizer's principal, or the IAM caller); empty on an open hub.
	Owner string `json:"owner,omitempty"`
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
	// not sent to it again (after a cluster mismatch, until its next
	// hello).
	RejectedRevision int64 `json:"rejected_revision,omitempty"`
	// Reason classifies the last rejection (protocol.ReasonClusterMismatch).
	Reason string `json:"reason,omitempty"`
	// ClusterID and Epoch are the identity of the configuration the data
	// plane runs.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Requests and Errors5xx are the requests proxied, and those answered
	// 5xx, since the running revision was applied (the last status).
	Requests  int64    `json:"requests,omitempty"`
	Errors5xx int64    `json:"errors_5xx,omitempty"`
	LastSeen  int64    `json:"last_seen"`
	UpdatedAt int64    `json:"updated_at"`
	Plugins   []string `json:"plugins,omitempty"`
	// Health is the targets' health the last status reported.
	Health []protocol.TargetHealth `json:"health,omitempty"`
	// Owner is the credential whose limit the row counts against, set
	// when the row is created.
	Owner string `json:"owner,omitempty"`
	// Seq counts the row's writes; every update is conditional on it.
	Seq int64 `json:"seq,omitempty"`
	// ExpiresAt is when the row is forgotten (epoch seconds).
	ExpiresAt int64 `json:"expires_at"`
}

// ListOptions select a page of GET /clustering/data-planes.
type ListOptions struct {
	// Size is the page size; 0 means DefaultPageSize, and more than
	// MaxPageSize is read as MaxPageSize.
	Size int
	// Offset is the opaque Next of the previous page; empty for the first.
	Offset string
	// SyncStatus, when set, keeps the rows of that sync_status.
	SyncStatus string
	// Labels, when set, keeps the rows carrying every one of these labels.
	Labels map[string]string
}

// match reports whether a row passes the options' filters.
func (o ListOptions) match(dp DataPlane) bool {
	if o.SyncStatus != "" && dp.SyncStatus != o.SyncStatus {
		return false
	}
	for k, v := range o.Labels {
		if got, ok := dp.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Page sizes of ListDataPlanes, as Kong's Admin API pages.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// DataPlanePage is one page of data planes, sorted by id.
type DataPlanePage struct {
	Data []DataPlane
	// Next is the offset of the following page; empty on the last.
	Next string
}

// Registry is the cluster table: connections and data-plane rows. Rows
// past their ExpiresAt are never returned, whether or not the store has
// removed them yet.
type Registry interface {
	// PutConnection creates or replaces a connection row.
	PutConnection(ctx context.Context, c Connection) error
	// BindConnection records that connection c.ID belongs to node
	// c.NodeID and moves its expiry to c.ExpiresAt, creating the row from
	// c when it is absent. It returns the row as stored, or
	// ErrNodeMismatch when the connection is bound to another node.
	BindConnection(ctx context.Context, c Connection) (Connection, error)
	// GetConnection returns a connection row or ErrNotFound.
	GetConnection(ctx context.Context, id string) (Connection, error)
	// DeleteConnection removes a connection row; absent is not an error.
	DeleteConnection(ctx context.Context, id string) error
	// ListConnections returns every live connection, sorted by id.
	ListConnections(ctx context.Context) ([]Connection, error)
	// UpdateNode applies fn to the data plane's row (a new row owned by
	// owner when there is none) and writes it, conditionally on the row
	// not having changed since it was read. Creating a row beyond owner's
	// limit returns ErrNodeLimit.
	UpdateNode(ctx context.Context, nodeID, owner string, fn func(*Node)) error
	// GetNode returns a data-plane row or ErrNotFound.
	GetNode(ctx context.Context, nodeID string) (Node, error)
	// ListNodes returns every live data-plane row, sorted by node id.
	ListNodes(ctx context.Context) ([]Node, error)
	// ListDataPlanes returns a page of GET /clustering/data-planes, or
	// ErrInvalidOffset.
	ListDataPlanes(ctx context.Context, opts ListOptions) (DataPlanePage, error)
}

// Option tunes a registry's limits.
type Option func(*limits)

// limits are a registry's row limits.
type limits struct {
	nodes      int
	staleAfter time.Duration
}

func newLimits(opts []Option) limits {
	l := limits{nodes: DefaultNodeLimit, staleAfter: DefaultStaleAfter}
	for _, o := range opts {
		o(&l)
	}
	return l
}

// WithNodeLimit sets how many data-plane rows one credential may keep;
// n < 1 keeps DefaultNodeLimit.
func WithNodeLimit(n int) Option {
	return func(l *limits) {
		if n > 0 {
			l.nodes = n
		}
	}
}

// WithStaleAfter sets how long a row must go unseen before a new node of
// a credential at its limit may replace it; d <= 0 keeps
// DefaultStaleAfter.
func WithStaleAfter(d time.Duration) Option {
	return func(l *limits) {
		if d > 0 {
			l.staleAfter = d
		}
	}
}

// stale reports whether a row last seen at lastSeen may be replaced at now.
func (l limits) stale(lastSeen int64, now time.Time) bool {
	return now.Sub(time.Unix(lastSeen, 0)) >= l.staleAfter
}

// pageSize reads ListOptions.Size.
func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// dataPlane is a row as GET /clustering/data-planes shows it at now.
func dataPlane(n Node, now time.Time) DataPlane {
	var ttl int64
	if n.ExpiresAt != 0 {
		ttl = n.ExpiresAt - now.Unix()
	}
	labels := n.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return DataPlane{
		ID:         n.NodeID,
		IP:         n.IP,
		Hostname:   n.Hostname,
		Version:    n.Version,
		ConfigHash: n.ConfigHash,
		LastSeen:   n.LastSeen,
		UpdatedAt:  n.UpdatedAt,
		SyncStatus: syncStatus(n, now),
		Labels:     labels,
		TTL:        ttl,
		Revision:   n.Revision,
		State:      n.State,
		Error:      n.Error,
		ClusterID:  n.ClusterID,
		Epoch:      n.Epoch,
	}
}

// syncStatus is Kong's sync_status of a row at now; SyncStale for a data
// plane not heard from for DefaultStaleAfter (three missed heartbeats),
// whatever it last reported.
func syncStatus(n Node, now time.Time) string {
	switch {
	case n.LastSeen > 0 && now.Sub(time.Unix(n.LastSeen, 0)) >= DefaultStaleAfter:
		return SyncStale
	case n.State == protocol.StateApplied:
		return SyncNormal
	case n.State == protocol.StateRejected && n.Reason == protocol.ReasonClusterMismatch:
		return SyncClusterMismatch
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
