// Package admin is Skyport's Kong-compatible Admin API: one net/http
// handler that serves the entity collections, nested collections and
// entities, GET /, GET /status, the declarative /config endpoints,
// /schemas and /clustering over a store.Store.
//
// The handler is the only place where store and model errors become HTTP
// statuses and Kong's error bodies. It runs unchanged behind API Gateway
// (see the apigw subpackage) and in `skyport local`.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// KongVersion is the Kong release whose Admin API and entity schemas this
// one follows.
const KongVersion = "3.9.3"

// Body size limits.
const (
	// MaxBodyBytes bounds an entity request body.
	MaxBodyBytes = 1 << 20
	// MaxConfigBytes bounds a POST /config body: a kong.yml of a million
	// entities is 50 to 100 MB. The body is read once, into one buffer;
	// API Gateway refuses anything above 10 MB before it reaches the
	// handler, so on AWS a large configuration goes through an import
	// job (/config/imports) instead.
	MaxConfigBytes = 256 << 20
)

// DataPlanes lists the data planes connected to the control plane, a
// page at a time (cluster.ErrInvalidOffset for an offset it did not give).
type DataPlanes interface {
	ListDataPlanes(ctx context.Context, opts cluster.ListOptions) (cluster.DataPlanePage, error)
	// ListNodes returns every live data plane's row, with the health of
	// the targets it last reported.
	ListNodes(ctx context.Context) ([]cluster.Node, error)
}

// Options configures the handler.
type Options struct {
	// Store holds the configuration. Required.
	Store store.Store
	// History backs /config/revisions (the configuration history and
	// rollback); nil answers 404 there.
	History *history.Log
	// Rollouts backs /config/rollout-policy and /config/rollouts (the
	// staged rollout); nil answers 404 there.
	Rollouts Rollouts
	// Imports backs /config/imports (a configuration uploaded aside and
	// loaded in batches); nil answers 404 there.
	Imports Imports
	// DataPlanes backs GET /clustering/data-planes; nil lists none.
	DataPlanes DataPlanes
	// TokenHash is the SHA-256 of the admin token; nil leaves the API open.
	TokenHash []byte
	// NodeID and Hostname identify this node on GET /.
	NodeID   string
	Hostname string
	// Version is the Kong version whose Admin API this one matches,
	// reported on GET / and in the Server header (decK reads both);
	// empty means KongVersion.
	Version string
	// Database names the store ("dynamodb" or "embedded"), reported on
	// GET / as configuration.skyport_store. configuration.database says
	// "postgres" whatever the store: Kong's clients read it to choose the
	// entity-CRUD Admin API over DB-less /config.
	Database string
	// ProxyListeners and AdminListeners are the data plane's proxy and the
	// Admin API's listen addresses, reported on GET / as Kong reports its
	// listeners.
	ProxyListeners []Listener
	AdminListeners []Listener
	// Plugins lists the plugin names available on this server; empty
	// allows every plugin that has a schema.
	Plugins []string
	// Logger receives unexpected errors; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Handler is the Admin API.
type Handler struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	plugins map[string]bool

	requests atomic.Int64
	active   atomic.Int64
}

var _ http.Handler = (*Handler)(nil)

// New returns the Admin API handler.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, log: opts.Logger, now: opts.Now}
	h.opts.Store = recordingStore{opts.Store}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.opts.Version == "" {
		h.opts.Version = KongVersion
	}
	if len(opts.Plugins) > 0 {
		h.plugins = make(map[string]bool, len(opts.Plugins))
		for _, p := range opts.Plugins {
			h.plugins[p] = true
		}
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	h.active.Add(1)
	defer h.active.Add(-1)
	defer func() {
		if v := recover(); v != nil {
			h.log.ErrorContext(r.Context(), "admin api panic", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeJSON(w, http.StatusInternalServerError, message(msgUnexpected))
		}
	}()
	if r.Header.Get("X-Request-Id") == "" {
		r.Header.Set("X-Request-Id", uuid.NewString())
	}
	w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
	// Kong answers every Admin API request with its server token
	// (kong/init.lua admin_header_filter); decK's dump reads it.
	w.Header().Set("Server", "kong/"+h.opts.Version)
	if !h.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, message("Invalid authentication credentials"))
		return
	}
	limit := int64(MaxBodyBytes)
	if r.URL.Path == "/config" || r.URL.Path == "/config/" {
		limit = MaxConfigBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if isWrite(r.Method) {
		w, r = h.withRevision(w, r)
	}
	h.route(w, r)
}
