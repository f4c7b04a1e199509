package status

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the status API: GET /status, GET /status/ready and
// GET /metrics.
type Handler struct {
	src  Source
	sync SyncReporter
	m    *Metrics
	mux  *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// New returns the status API over src (the proxy), sync (the sync client,
// nil when none) and m, and adds their state to m's registry (once per
// Metrics: a second call returns an error).
func New(src Source, sync SyncReporter, m *Metrics) (*Handler, error) {
	if err := m.reg.Register(&stateCollector{src: src, sync: sync, m: m}); err != nil {
		return nil, fmt.Errorf("registering state metrics: %w", err)
	}
	h := &Handler{src: src, sync: sync, m: m, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /status", h.status)
	h.mux.HandleFunc("GET /status/ready", h.ready)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	return h, nil
}

// Mount serves the routes of h2 under prefix ("/proxy-cache" and
// everything below it) beside the status routes: the plugins' Admin API
// routes that act on one data plane's state.
func (h *Handler) Mount(prefix string, h2 http.Handler) {
	h.mux.Handle(prefix, h2)
	h.mux.Handle(prefix+"/", h2)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Status is the body of GET /status: Kong's shape, plus the revision and
// the sync state.
type Status struct {
	Server            ServerStatus `json:"server"`
	ConfigurationHash string       `json:"configuration_hash"`
	Revision          int64        `json:"revision"`
	Sync              *SyncState   `json:"sync,omitempty"`
}

// ServerStatus is Kong's "server" block (nginx's stub_status counters).
type ServerStatus struct {
	ConnectionsAccepted int64 `json:"connections_accepted"`
	ConnectionsActive   int64 `json:"connections_active"`
	ConnectionsHandled  int64 `json:"connections_handled"`
	ConnectionsReading  int64 `json:"connections_reading"`
	ConnectionsWaiting  int64 `json:"connections_waiting"`
	ConnectionsWriting  int64 `json:"connections_writing"`
	TotalRequests       int64 `json:"total_requests"`
}

func (h *Handler) status(w http.ResponseWriter, _ *http.Request) {
	m := h.m
	rev, hash := h.src.Current()
	if hash == "" {
		hash = "00000000000000000000000000000000"
	}
	st := Status{
		Server: ServerStatus{
			ConnectionsAccepted: m.accepted.Load(), ConnectionsActive: m.active.Load(),
			ConnectionsHandled: m.handled.Load(), ConnectionsReading: m.reading.Load(),
			ConnectionsWaiting: m.waiting.Load(), ConnectionsWriting: m.writing.Load(),
			TotalRequests: m.total.Load(),
		},
		ConfigurationHash: hash, Revision: rev,
	}
	if h.sync != nil {
		s := h.sync.SyncState()
		st.Sync = &s
	}
	writeJSON(w, http.StatusOK, st)
}

// ready answers 200 once a configuration is loaded and, with
// ?revision=N, once the running revision is N or newer (a client that
// wrote revision N through the Admin API waits on it); 503 otherwise, with
// the revision it runs and the last one it refused.
func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	var want int64
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "revision: expected a non-negative integer"})
			return
		}
		want = n
	}
	if !h.src.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, notReady{Message: "no configuration available"})
		return
	}
	rev, _ := h.src.Current()
	if rev < want {
		body := notReady{Message: fmt.Sprintf("revision %d not applied yet: running revision %d", want, rev), Revision: rev}
		if h.sync != nil {
			if s := h.sync.SyncState(); s.RejectedRevision >= want {
				body.RejectedRevision = s.RejectedRevision
				body.Message = fmt.Sprintf("revision %d not applied: running revision %d, refused revision %d", want, rev, s.RejectedRevision)
				if s.LastError != "" {
					body.Message += ": " + s.LastError
				}
			}
		}
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "ready"})
}

// notReady is the body of a 503 from /status/ready.
type notReady struct {
	Message          string `json:"message"`
	Revision         int64  `json:"revision,omitempty"`
	RejectedRevision int64  `json:"rejected_revision,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
