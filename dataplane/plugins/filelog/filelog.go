// Package filelog is Kong's file-log plugin: every request's log record
// (Kong's serializer JSON, see logrecord) is appended to a file as one
// line. The file is opened as Kong opens it (write-only, created with mode
// 0644, O_APPEND, so lines from several writers never interleave) by the
// plugin's queue goroutine, never on the request path. Without reopen,
// the file is reopened when it was moved or removed (log rotation); with
// reopen, before every batch.
package filelog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
)

// Name is the plugin's name.
const Name = "file-log"

// Config is file-log's configuration.
type Config struct {
	// Path is the log file, created when missing.
	Path string `json:"path"`
	// Reopen closes and reopens the file for every batch.
	Reopen bool `json:"reopen"`
}

// FileLog is the handler of one plugin instance of one snapshot.
type FileLog struct {
	enc   logrecord.Encoder
	conf  Config
	queue *logqueue.Queue

	mu sync.Mutex // guards f against Close racing the queue's goroutine
	f  *os.File
}

var (
	_ plugin.Handler  = (*FileLog)(nil)
	_ plugin.Recorder = (*FileLog)(nil)
	_ io.Closer       = (*FileLog)(nil)
)

// NewFactory returns the plugin's factory.
func NewFactory(m *logqueue.Metrics, log *slog.Logger) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building file-log: %w", err)
		}
		h := &FileLog{conf: c}
		h.queue = logqueue.New(Name, logqueue.StreamParams(), h.write, m, log)
		return h, nil
	}
}

// Name implements plugin.Handler.
func (h *FileLog) Name() string { return Name }

// Log implements plugin.Logger.
func (h *FileLog) Log(pc *plugin.Context, e *plugin.LogEntry) {
	_ = h.queue.Add(h.enc.Append(make([]byte, 0, 1024), pc, e)) // a refusal is counted
}

// OnView implements plugin.Viewer: the record is encoded of the view's
// entry as of the adapter's (logrecord.Encoder).
func (h *FileLog) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log; the record is encoded
// before it returns.
func (h *FileLog) LogView(pc *plugin.Context, e *plugin.LogEntry) { h.Log(pc, e) }

// Records implements plugin.Recorder.
func (h *FileLog) Records() {}

// Close writes what is queued and closes the file.
func (h *FileLog) Close() error {
	err := h.queue.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil {
		_ = h.f.Close()
		h.f = nil
	}
	return err
}

// write appends a batch with one write call.
func (h *FileLog) write(_ context.Context, batch [][]byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil && (h.conf.Reopen || h.moved()) {
		_ = h.f.Close()
		h.f = nil
	}
	if h.f == nil {
		f, err := os.OpenFile(h.conf.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644) //nolint:gosec // Kong's mode for log files
		if err != nil {
			return fmt.Errorf("opening the log file: %w", err)
		}
		h.f = f
	}
	if _, err := h.f.Write(logqueue.Lines(batch)); err != nil {
		_ = h.f.Close()
		h.f = nil
		return fmt.Errorf("writing the log file: %w", err)
	}
	return nil
}

// moved reports whether the path no longer names the open file.
func (h *FileLog) moved() bool {
	onDisk, err := os.Stat(h.conf.Path)
	if err != nil {
		return true
	}
	open, err := h.f.Stat()
	return err != nil || !os.SameFile(onDisk, open)
}
