package cluster

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Bounds of what a data plane reports; a message beyond them is refused
// before anything is written.
const (
	MaxNodeIDLength   = 128
	maxHostnameLength = 255
	maxVersionLength  = 64
	maxLabels         = 64
	maxLabelLength    = 63
	maxPlugins        = 512
	maxErrorLength    = 4096
	maxHashLength     = 64
)

// decode parses a frame into v and checks that it names a node and
// carries a config hash of a sensible length.
func decode(body string, v any, nodeID, configHash *string) error {
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("%w: invalid JSON: %w", errBadRequest, err)
	}
	if len(*configHash) > maxHashLength {
		return fmt.Errorf("%w: config_hash is longer than %d bytes", errBadRequest, maxHashLength)
	}
	return checkNodeID(*nodeID)
}

func checkNodeID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: node_id is required", errBadRequest)
	case len(id) > MaxNodeIDLength:
		return fmt.Errorf("%w: node_id is longer than %d bytes", errBadRequest, MaxNodeIDLength)
	case !printable(id):
		return fmt.Errorf("%w: node_id must be printable", errBadRequest)
	}
	return nil
}

// checkIdentity bounds the fields of a hello.
func checkIdentity(hostname, version string, labels map[string]string, plugins []string) error {
	switch {
	case len(hostname) > maxHostnameLength:
		return fmt.Errorf("%w: hostname is longer than %d bytes", errBadRequest, maxHostnameLength)
	case len(version) > maxVersionLength:
		return fmt.Errorf("%w: version is longer than %d bytes", errBadRequest, maxVersionLength)
	case len(labels) > maxLabels:
		return fmt.Errorf("%w: more than %d labels", errBadRequest, maxLabels)
	case len(plugins) > maxPlugins:
		return fmt.Errorf("%w: more than %d plugins", errBadRequest, maxPlugins)
	}
	for k, v := range labels {
		if k == "" || len(k) > maxLabelLength || len(v) > maxLabelLength {
			return fmt.Errorf("%w: label keys and values are 1 to %d bytes", errBadRequest, maxLabelLength)
		}
	}
	return nil
}

// checkCluster bounds the identity a data plane reports and the reason it
// gives for a rejection.
func checkCluster(clusterID string, epoch int64, reason string) error {
	if err := (snapshot.Identity{ClusterID: clusterID, Epoch: epoch}).Check(); err != nil {
		return fmt.Errorf("%w: %w", errBadRequest, err)
	}
	switch reason {
	case "", protocol.ReasonClusterMismatch:
		return nil
	}
	return fmt.Errorf("%w: unknown reason %q", errBadRequest, truncate(reason, maxLabelLength))
}

// printable reports whether s is UTF-8 with no control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// truncate bounds a reported error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
