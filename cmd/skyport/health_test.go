package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/internal/protocol"
)

// TestReportedHealth: the proxy's view of its targets in Kong's words.
func TestReportedHealth(t *testing.T) {
	t.Parallel()
	in := []upstream.TargetHealth{
		{UpstreamID: "u", Target: "a:80", Checked: true, Healthy: true},
		{UpstreamID: "u", Target: "b:80", Checked: true, Healthy: false},
		{UpstreamID: "u", Target: "c:80", Checked: false, Healthy: true},
	}
	require.Equal(t, []protocol.TargetHealth{
		{UpstreamID: "u", Target: "a:80", Health: protocol.HealthHealthy},
		{UpstreamID: "u", Target: "b:80", Health: protocol.HealthUnhealthy},
		{UpstreamID: "u", Target: "c:80", Health: protocol.HealthOff},
	}, reportedHealth(in))
}
