package admin

import (
	"context"
	"net/http"
	"sort"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// pluginInfo is one entry of plugins.available_on_server.
type pluginInfo struct {
	Version  string `json:"version"`
	Priority int    `json:"priority"`
}

// root serves GET /: what decK and Kong's tools read to identify the node.
func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	available := map[string]pluginInfo{}
	for _, name := range h.available() {
		info := pluginInfo{Version: h.opts.Version} // Kong's bundled plugins carry Kong's version
		if s, ok := pluginschema.Lookup(name); ok {
			info.Priority = s.Priority
		}
		available[name] = info
	}
	enabled, err := h.enabledPlugins(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	loaded := make(map[string]bool, len(available))
	for name := range available {
		loaded[name] = true
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":  h.opts.Version,
		"edition":  "community",
		"tagline":  "Welcome to kong",
		"hostname": h.opts.Hostname,
		"node_id":  h.opts.NodeID,
		"configuration": map[string]any{
			// Kong's clients choose the entity-CRUD Admin API when the
			// database is not "off"; the real store has its own key.
			"database":         "postgres",
			"skyport_store":    h.opts.Database,
			"role":             "control_plane",
			"router_flavor":    "traditional_compatible",
			"plugins":          h.available(),
			"loaded_plugins":   loaded,
			"proxy_listen":     listens(h.opts.ProxyListeners),
			"proxy_listeners":  parsedListeners(h.opts.ProxyListeners),
			"admin_listen":     listens(h.opts.AdminListeners),
			"admin_listeners":  parsedListeners(h.opts.AdminListeners),
			"stream_listen":    []string{"off"},
			"stream_listeners": []any{},
		},
		"plugins": map[string]any{
			"available_on_server": available,
			"enabled_in_cluster":  enabled,
		},
	})
}

// available lists the plugins this server accepts.
func (h *Handler) available() []string {
	if len(h.opts.Plugins) > 0 {
		out := append([]string(nil), h.opts.Plugins...)
		sort.Strings(out)
		return out
	}
	return pluginschema.Names()
}

// enabledPlugins lists the distinct names of the configured plugins.
func (h *Handler) enabledPlugins(r *http.Request) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	opts := store.ListOptions{Size: maxSize}
	for {
		page, err := h.opts.Store.List(r.Context(), model.KindPlugin, opts)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if name := pluginName(e); !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
		if page.Next == "" {
			sort.Strings(out)
			return out, nil
		}
		opts.Offset = page.Next
	}
}

// status serves GET /status: store reachability, request counters and the
// hash of the current configuration.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	hash, rev, err := h.configHash(r.Context())
	reachable := err == nil
	if err != nil {
		h.log.ErrorContext(r.Context(), "admin api status: store unreachable", "error", err)
	}
	body := map[string]any{
		"database": map[string]any{"reachable": reachable},
		"server": map[string]any{
			"total_requests":       h.requests.Load(),
			"connections_active":   h.active.Load(),
			"connections_accepted": h.requests.Load(),
			"connections_handled":  h.requests.Load(),
			"connections_reading":  0,
			"connections_writing":  h.active.Load(),
			"connections_waiting":  0,
		},
	}
	if reachable {
		body["configuration_hash"] = hash
		body["revision"] = rev
	}
	status := http.StatusOK
	if !reachable {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

// configHash returns the hash of the current configuration and its
// revision: the hash recorded with the revision (by the publisher when it
// published it), or, when none is recorded for the newest revision yet,
// computed from an export once and recorded.
func (h *Handler) configHash(ctx context.Context) (string, int64, error) {
	hash, rev, ok, err := h.opts.Store.ConfigHash(ctx)
	if err != nil || ok {
		return hash, rev, err
	}
	cfg, rev, err := h.opts.Store.Export(ctx)
	if err != nil {
		return "", 0, err
	}
	hash = snapshot.ConfigHash(cfg)
	if err := h.opts.Store.RecordConfigHash(ctx, rev, hash); err != nil {
		h.log.WarnContext(ctx, "admin api status: recording the configuration hash", "revision", rev, "error", err)
	}
	return hash, rev, nil
}
