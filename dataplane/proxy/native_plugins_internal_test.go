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
		del      bool   // the plugin deleted Content-Type first
		add      string // the Content-Type the plugin added, "" for none
	}{
		{desc: "deleted", upstream: true, del: true},
		{desc: "deleted, an event stream added", del: true, add: "text/event-stream", want: true},
		{desc: "added after the upstream's", upstream: true, add: "text/plain", want: true},
		{desc: "upstream's event stream", upstream: true, set: "", want: true},
		{desc: "upstream's other type", upstream: false, set: "", want: false},
		{desc: "a plugin's event stream over another", upstream: false, set: "text/event-stream; charset=utf-8", want: true},
		{desc: "a plugin's other type over an event stream", upstream: true, set: "text/plain", want: false},
		{desc: "a plugin's look-alike", upstream: false, set: "text/event-streams", want: false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			pc := plugin.NewContext(nil, nil, nil, "")
			pc.SetResponseField("X-Other", "text/event-stream")
			if tc.del {
				pc.DelResponseField("Content-Type")
			}
			if tc.set != "" {
				pc.SetResponseField("content-type", tc.set)
			}
			if tc.add != "" {
				pc.AddResponseField("Content-Type", tc.add)
			}
			require.Equal(t, tc.want, sentStream(tc.upstream, pc.ResponseFields()))
		})
	}
}
