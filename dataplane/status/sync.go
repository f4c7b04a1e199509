// Package status is the data plane's status API on --status-listen:
// GET /status (Kong's shape plus configuration_hash and revision),
// GET /status/ready (503 until a configuration is loaded; with
// ?revision=N, until revision N or a newer one runs) and GET /metrics
// (Prometheus).
package status

import "time"

// SyncState is what the data plane's connection to the control plane
// reports on the status API and in metrics.
type SyncState struct {
	// CP is "connected", "connecting", "disconnected" or "disabled" (no --cp-url).
	CP string `json:"cp"`
	// Source is where the running configuration came from: "cache", "cp",
	// "delta" (a delta from the control plane applied to the previous
	// one), "fallback" or "declarative".
	Source string `json:"source"`
	// LastError is the last sync or apply error; empty when none.
	LastError string `json:"last_error,omitempty"`
	// LastApply is when a configuration was last applied; zero if never.
	LastApply time.Time `json:"last_apply"`
	// RejectedRevision is the last revision refused, 0 if none.
	RejectedRevision int64 `json:"rejected_revision,omitempty"`
	// Cache is the disk cache's state: "disabled" (no --cache-dir),
	// "empty" (nothing cached yet), "ok", "lost" (a configuration was
	// cached but could not be booted from: damaged, refused, older than
	// one already applied, or gone) or "failed" (the last save failed).
	Cache string `json:"cache,omitempty"`
	// CacheError says why the cache is lost or failed.
	CacheError string `json:"cache_error,omitempty"`
	// ClusterID and Epoch are the cluster identity of the running
	// configuration; empty before one is applied, or when its control
	// plane does not identify its cluster.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Reason classifies the last refusal when the operator must act on
	// it: "cluster_mismatch" (a snapshot of another cluster, or of an
	// older epoch, refused; LastError says which and what to do).
	Reason string `json:"reason,omitempty"`
	// Deltas counts the deltas applied; DeltaFallbacks those offered but
	// not applied (base not running, fetch or verification failed, result
	// hash mismatch), for which the full snapshot was fetched.
	Deltas         int64 `json:"deltas_applied,omitempty"`
	DeltaFallbacks int64 `json:"delta_fallbacks,omitempty"`
}

// SyncReporter is implemented by the data plane's sync client.
type SyncReporter interface {
	SyncState() SyncState
}
