package logrecord_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestSink checks that a Sink queues each entry's record, after what its
// Head appends, and nothing for an entry its Head drops, on the log
// phase and on the view's alike.
func TestSink(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "http://api.example/x?a=1", nil)
	pc := plugin.NewContext(&model.Route{Base: model.Base{ID: "r1"}}, &model.Service{Base: model.Base{ID: "s1"}}, nil, "192.0.2.1")
	entries := []*plugin.LogEntry{
		{Request: r, Status: 200, Scheme: "http", Host: "api.example", ResponseHeader: http.Header{}},
		{Request: r, Status: 401, Scheme: "http", Host: "api.example", ResponseHeader: http.Header{}},
	}
	var enc logrecord.Encoder
	record := func(i int) string { return string(enc.Append(nil, pc, entries[i])) }
	for _, tc := range []struct {
		desc string
		head func(b []byte, status int) ([]byte, bool)
		want []string
	}{
		{"record alone", nil, []string{record(0), record(1)}},
		{"after a head", func(b []byte, status int) ([]byte, bool) {
			return strconv.AppendInt(append(b, '<'), int64(status), 10), true
		}, []string{"<200" + record(0), "<401" + record(1)}},
		{"dropped", func(b []byte, status int) ([]byte, bool) { return b, status < 400 }, []string{record(0)}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			for _, onView := range []bool{false, true} {
				var mu sync.Mutex
				var got []string
				send := func(_ context.Context, batch [][]byte) error {
					mu.Lock()
					defer mu.Unlock()
					for _, e := range batch {
						got = append(got, string(e))
					}
					return nil
				}
				s := &logrecord.Sink{Queue: logqueue.New("test", logqueue.StreamParams(), send, logqueue.NewMetrics(), nil),
					Head: tc.head}
				require.True(t, s.OnView())
				for _, e := range entries {
					if onView {
						s.LogView(pc, e)
					} else {
						s.Log(pc, e)
					}
				}
				require.NoError(t, s.Queue.Close()) // delivers what is queued
				mu.Lock()
				require.Equal(t, tc.want, got, "on the view: %v", onView)
				mu.Unlock()
			}
		})
	}
}
