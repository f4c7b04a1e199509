// Package protocol holds the WebSocket messages between data planes and
// the control plane (docs/contracts.md, "WebSocket API"). Frames are JSON text;
// API Gateway routes DP → CP messages on their "action" field.
package protocol

// Actions (route keys) a data plane sends.
const (
	ActionHello  = "hello"
	ActionStatus = "status"
)

// Types of messages the control plane sends.
const (
	TypeConfig = "config"
)

// States a data plane reports after an apply attempt.
const (
	StateApplied  = "applied"
	StateRejected = "rejected"
)

// Reasons a data plane gives for a rejection the operator must act on.
const (
	// ReasonClusterMismatch: the snapshot belongs to another cluster than
	// the one the data plane runs (or caches), or to an older epoch of it.
	ReasonClusterMismatch = "cluster_mismatch"
)

// Hello is the first message a data plane sends after connecting.
type Hello struct {
	Action     string            `json:"action"`
	NodeID     string            `json:"node_id"`
	Hostname   string            `json:"hostname"`
	Version    string            `json:"version"`
	Labels     map[string]string `json:"labels,omitempty"`
	Revision   int64             `json:"revision"`
	ConfigHash string            `json:"config_hash"`
	// ClusterID and Epoch are the identity of the running configuration
	// (snapshot.Identity); empty before one is loaded.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Plugins lists the plugins this data plane has, so the control plane
	// can report plugin_set_incompatible.
	Plugins []string `json:"plugins,omitempty"`
}

// Status is an ack/nack after an apply attempt, and the heartbeat.
type Status struct {
	Action     string `json:"action"`
	NodeID     string `json:"node_id"`
	Revision   int64  `json:"revision"`
	ConfigHash string `json:"config_hash"`
	// State is applied or rejected.
	State string `json:"state"`
	// Error is why a revision was rejected.
	Error string `json:"error,omitempty"`
	// RejectedRevision is the revision that was refused, when State is
	// rejected (Revision stays the running one).
	RejectedRevision int64 `json:"rejected_revision,omitempty"`
	// Reason classifies a rejection the operator must act on
	// (ReasonClusterMismatch); empty for the others.
	Reason string `json:"reason,omitempty"`
	// ClusterID and Epoch are the identity of the running configuration.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Requests and Errors5xx count the proxied requests, and those
	// answered 5xx, since the running revision was applied: what a staged
	// rollout's error-ratio halt condition reads.
	Requests  int64 `json:"requests,omitempty"`
	Errors5xx int64 `json:"errors_5xx,omitempty"`
	// Health is the state of the targets of the running configuration's
	// upstreams, at most MaxHealth of them; absent when there are none.
	Health []TargetHealth `json:"health,omitempty"`
}

// Health states of a target, in Kong's words (GET /upstreams/{u}/health).
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthOff       = "HEALTHCHECKS_OFF"
)

// MaxHealth bounds the targets a status reports, so that a status stays
// far below API Gateway's 128 KB message limit.
const MaxHealth = 500

// TargetHealth is one target's state as a data plane sees it.
type TargetHealth struct {
	UpstreamID string `json:"upstream_id"`
	Target     string `json:"target"`
	Health     string `json:"health"`
}

// ConfigNotice tells a data plane that a newer revision exists.
type ConfigNotice struct {
	Type     string `json:"type"`
	Revision int64  `json:"revision"`
	Key      string `json:"key"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	// URL is a short-lived presigned GET, for data planes without AWS
	// credentials; empty when the data plane reads the bucket itself.
	URL string `json:"url,omitempty"`
	// Signature and Format complete the pointer so the notice alone is
	// enough to verify the snapshot.
	Signature string `json:"signature,omitempty"`
	Format    string `json:"format,omitempty"`
	// ClusterID and Epoch are the snapshot's identity (snapshot.Identity).
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Delta, when present, offers the same revision as a delta from an
	// older one (internal/delta): a data plane running its base may apply
	// it instead of the full snapshot. Older data planes ignore it.
	Delta *DeltaNotice `json:"delta,omitempty"`
	// Full and Chain, when Full is set, say that Revision is published as
	// deltas only (snapshot.Pointer's Full and Chain): Key, SHA256, Size,
	// Signature, Format and URL name the full snapshot of revision Full,
	// and Chain the deltas from it to Revision, in order, each with its
	// presigned URL when URL is set.
	Full  int64         `json:"full,omitempty"`
	Chain []DeltaNotice `json:"chain,omitempty"`
}

// DeltaNotice names a signed delta and what verifies it (delta.Pointer).
type DeltaNotice struct {
	Base      int64  `json:"base"`
	Revision  int64  `json:"revision"`
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Signature string `json:"signature"`
	Format    string `json:"format,omitempty"`
	// URL is a short-lived presigned GET of Key, as ConfigNotice.URL.
	URL string `json:"url,omitempty"`
}
