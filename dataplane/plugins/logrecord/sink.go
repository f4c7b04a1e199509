package logrecord

import (
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
)

// Sink is the log phase of a logger that queues Kong's record of each
// request for its queue's goroutine to deliver (tcp-log, syslog): a
// plugin.Recorder, the record encoded of the adapter's entry or of the
// view's alike (Encoder). A handler embeds it and sets Queue, and Head
// when its messages carry more than the record.
type Sink struct {
	enc Encoder
	// Queue takes each message, encoded before Log returns.
	Queue *logqueue.Queue
	// Head, when not nil, appends to b what goes before the record in the
	// message of a response of status (syslog's priority, time and tag);
	// false drops the request's message, nothing encoded.
	Head func(b []byte, status int) ([]byte, bool)
}

var _ plugin.Recorder = (*Sink)(nil)

// Log implements plugin.Logger: the message is queued, a refusal counted
// by the queue's metrics.
func (s *Sink) Log(pc *plugin.Context, e *plugin.LogEntry) {
	b := make([]byte, 0, 1024)
	if s.Head != nil {
		var ok bool
		if b, ok = s.Head(b, e.Status); !ok {
			return
		}
	}
	_ = s.Queue.Add(s.enc.Append(b, pc, e))
}

// OnView implements plugin.Viewer: the record is encoded of the view's
// entry as of the adapter's.
func (s *Sink) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log, which keeps nothing of pc
// and e once it returns.
func (s *Sink) LogView(pc *plugin.Context, e *plugin.LogEntry) { s.Log(pc, e) }

// Records implements plugin.Recorder.
func (s *Sink) Records() {}

// LogsResponse implements plugin.ResponseLogger: the record holds the
// response's fields, which the entry has when they went out through a
// map.
func (s *Sink) LogsResponse() {}
