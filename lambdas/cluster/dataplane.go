// Package cluster is the control plane's side of the data-plane
// connection: the WebSocket route handlers ($connect, $disconnect, hello,
// status), the cluster table of connections and data-plane status rows,
// and the list behind GET /clustering/data-planes.
package cluster

// DataPlane is one row of GET /clustering/data-planes: Kong's fields plus
// the revision the data plane runs and its last apply state.
type DataPlane struct {
	ID         string            `json:"id"`
	IP         string            `json:"ip"`
	Hostname   string            `json:"hostname"`
	Version    string            `json:"version"`
	ConfigHash string            `json:"config_hash"`
	LastSeen   int64             `json:"last_seen"`
	UpdatedAt  int64             `json:"updated_at"`
	SyncStatus string            `json:"sync_status"`
	Labels     map[string]string `json:"labels"`
	TTL        int64             `json:"ttl"`
	Revision   int64             `json:"revision"`
	State      string            `json:"state"`
	Error      string            `json:"error,omitempty"`
	// ClusterID and Epoch are the cluster identity of the configuration
	// the data plane runs (snapshot.Identity).
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
}

// Sync statuses, as Kong reports them, and Skyport's
// SyncClusterMismatch: the data plane refuses this control plane's
// snapshots because it runs (or caches) another cluster's configuration,
// or a newer epoch of this one (Error says which and what to do); and
// SyncStale: the data plane has not been heard from for DefaultStaleAfter
// (it died, or lost its connection and has not come back).
const (
	SyncUnknown                 = "unknown"
	SyncNormal                  = "normal"
	SyncPluginSetIncompatible   = "plugin_set_incompatible"
	SyncKongVersionIncompatible = "kong_version_incompatible"
	SyncClusterMismatch         = "cluster_mismatch"
	SyncStale                   = "stale"
)

// SyncStatuses are the values of sync_status, for validating filters.
var SyncStatuses = []string{SyncUnknown, SyncNormal, SyncPluginSetIncompatible, SyncKongVersionIncompatible,
	SyncClusterMismatch, SyncStale}
