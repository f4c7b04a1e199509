// Package httplog is Kong's http-log plugin: every request's log record
// (Kong's serializer JSON, see logrecord) is queued and POSTed (or PUT,
// PATCHed) to an HTTP endpoint in batches, off the request path, with
// Kong's queue parameters (see logqueue). A batch of one entry is sent as
// the entry itself; a larger batch as a JSON array. User info in the
// endpoint becomes a Basic Authorization header. As Kong's, the endpoint's
// TLS certificate is not verified.
package httplog

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
)

// Name is the plugin's name.
const Name = "http-log"

// maxErrorBody bounds how much of a failed response is read for the log.
const maxErrorBody = 1 << 10

// Config is http-log's configuration.
type Config struct {
	// HTTPEndpoint receives the entries; user info becomes Basic auth.
	HTTPEndpoint string `json:"http_endpoint"`
	// Method is POST (default), PUT or PATCH.
	Method string `json:"method"`
	// ContentType is application/json (default) or with charset=utf-8.
	ContentType string `json:"content_type"`
	// Timeout and Keepalive are in milliseconds: the send timeout and how
	// long an idle connection to the endpoint is kept.
	Timeout   float64 `json:"timeout"`
	Keepalive float64 `json:"keepalive"`
	// Headers are added to every request (never replacing Content-Type,
	// Content-Length or the Authorization of user info).
	Headers map[string]string `json:"headers"`
	// Queue is Kong's queue record.
	Queue logqueue.Config `json:"queue"`
	// QueueSize and FlushTimeout are deprecated spellings of
	// queue.max_batch_size and queue.max_coalescing_delay, used when
	// those are left at their defaults.
	QueueSize    *int     `json:"queue_size"`
	FlushTimeout *float64 `json:"flush_timeout"`
}

// HTTPLog is the handler of one plugin instance of one snapshot.
type HTTPLog struct {
	conf   Config
	url    string
	auth   string
	client *http.Client
	queue  *logqueue.Queue
	log    *slog.Logger
	enc    logrecord.Encoder
}

var (
	_ plugin.Handler  = (*HTTPLog)(nil)
	_ plugin.Recorder = (*HTTPLog)(nil)
	_ io.Closer       = (*HTTPLog)(nil)
)

// NewFactory returns the plugin's factory: queues count into m, delivery
// failures are logged to log.
func NewFactory(m *logqueue.Metrics, log *slog.Logger) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) { return New(env, m, log) }
}

// New builds the handler; nothing is started before the first entry.
func New(env plugin.Env, m *logqueue.Metrics, log *slog.Logger) (*HTTPLog, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building http-log: %w", err)
	}
	u, err := url.Parse(c.HTTPEndpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("building http-log: invalid http_endpoint")
	}
	h := &HTTPLog{conf: c, log: log}
	if u.User != nil {
		p, _ := u.User.Password()
		h.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p))
		u.User = nil
	}
	if u.Path == "" {
		u.Path = "/"
	}
	h.url = u.String()
	h.client = &http.Client{
		Timeout: millis(c.Timeout, 10*time.Second),
		Transport: &http.Transport{
			IdleConnTimeout:     millis(c.Keepalive, time.Minute),
			MaxIdleConnsPerHost: 2,
			// A batch (100 records of 1 to 2 kB by default) in few writes.
			WriteBufferSize: 64 << 10,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Kong's http-log sends with ssl_verify = false
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	p := c.Queue.LegacyParams(c.QueueSize, c.FlushTimeout)
	h.queue = logqueue.New(Name, p, h.send, m, log)
	return h, nil
}

func millis(ms float64, def time.Duration) time.Duration {
	if ms <= 0 {
		return def
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// Name implements plugin.Handler.
func (h *HTTPLog) Name() string { return Name }

// Log implements plugin.Logger: the record is encoded now, into a buffer
// reused from a delivered batch, and queued.
func (h *HTTPLog) Log(pc *plugin.Context, e *plugin.LogEntry) {
	err := h.queue.Add(h.enc.Append(logqueue.Buffer(), pc, e))
	if err != nil && h.log != nil {
		h.log.Debug("http-log: entry not queued", "error", err)
	}
}

// OnView implements plugin.Viewer: the record is encoded of the view's
// entry as of the adapter's (logrecord.Encoder).
func (h *HTTPLog) OnView() bool { return true }

// LogView implements plugin.ViewLogger: Log; the record is encoded
// before it returns.
func (h *HTTPLog) LogView(pc *plugin.Context, e *plugin.LogEntry) { h.Log(pc, e) }

// Records implements plugin.Recorder.
func (h *HTTPLog) Records() {}

// Close delivers what is queued and stops the queue.
func (h *HTTPLog) Close() error {
	err := h.queue.Close()
	h.client.CloseIdleConnections()
	return err
}

// send delivers one batch. The body is read from the entries themselves
// (no copy into one buffer); once the transport has closed it, the
// entries go back to logqueue's pool.
func (h *HTTPLog) send(ctx context.Context, batch [][]byte) error {
	array := len(batch) > 1 || h.queueBatches()
	body := newBatchBody(batch, array)
	req, err := http.NewRequestWithContext(ctx, h.conf.Method, h.url, body)
	if err != nil {
		return fmt.Errorf("http-log request: %w", err)
	}
	req.ContentLength = int64(body.size)
	var rewound atomic.Bool
	req.GetBody = func() (io.ReadCloser, error) {
		rewound.Store(true) // the transport retries on a new connection
		return newBatchBody(batch, array), nil
	}
	for k, v := range h.conf.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", h.conf.ContentType)
	req.Header.Set("Content-Length", strconv.Itoa(body.size))
	if h.auth != "" {
		req.Header.Set("Authorization", h.auth)
	}
	req.Header.Set("User-Agent", "skyport-http-log")
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("failed request to %s: %w", req.URL.Host, err)
	}
	defer res.Body.Close()
	if res.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		if body.closed.Load() && !rewound.Load() {
			logqueue.Release(batch)
		}
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	return fmt.Errorf("request to %s returned status code %d and body %s", req.URL.Host, res.StatusCode, msg)
}

// queueBatches reports whether batches are JSON arrays even of one entry
// (Kong sends an array whenever max_batch_size is above 1).
func (h *HTTPLog) queueBatches() bool {
	return h.conf.Queue.MaxBatchSize > 1 || (h.conf.QueueSize != nil && *h.conf.QueueSize > 1)
}
