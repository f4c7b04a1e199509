package proxy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// TestSentStream: a response relayed as a view is flushed as an event
// stream by the Content-Type the client gets, a plugin's over the
// upstream's.
func TestSentStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc     string
		upstream bool
		set      string // the Content-Type a plugin set, "" for none
		want     bool
	}{
		{"upstream's event stream", true, "", true},
		{"upstream's other type", false, "", false},
		{"a plugin's event stream over another", false, "text/event-stream; charset=utf-8", true},
		{"a plugin's other type over an event stream", true, "text/plain", false},
		{"a plugin's look-alike", false, "text/event-streams", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			pc := plugin.NewContext(nil, nil, nil, "")
			pc.SetResponseField("X-Other", "text/event-stream")
			if tc.set != "" {
				pc.SetResponseField("content-type", tc.set)
			}
			require.Equal(t, tc.want, sentStream(tc.upstream, pc.ResponseFields()))
		})
	}
}
