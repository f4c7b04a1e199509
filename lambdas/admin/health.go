package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Upstream health (kong/api/routes/upstreams.lua). A Kong node answers
// GET /upstreams/{u}/health from its own balancer; a control plane runs
// none. Skyport's data planes report their targets' health with every
// status, so the control plane answers with the view of the data plane
// seen last among those that run the upstream: each target's "health"
// (HEALTHY, UNHEALTHY or HEALTHCHECKS_OFF) and that data plane's node_id.
// Without such a report the targets come without a health state, as Kong's
// control plane answers. ?balancer_health=1 has no data. The targets'
// healthy and unhealthy endpoints exist only on nodes that proxy (Kong
// registers them unless role is control_plane), so they are not found.

// upstreamHealth serves GET /upstreams/{u}/health.
func (h *Handler) upstreamHealth(w http.ResponseWriter, r *http.Request, upstream string) {
	h.withParent(w, r, relation{parent: model.KindUpstream, seg: "targets", child: model.KindTarget, field: "upstream"}, upstream,
		func(p *parent) {
			q := r.URL.Query()
			if q.Get("balancer_health") == "1" {
				writeJSON(w, http.StatusOK, map[string]any{"next": nil, "node_id": h.opts.NodeID})
				return
			}
			opts, err := listOptions(url.Values{"size": q["size"], "offset": q["offset"]})
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			opts.Parent = &model.Reference{Field: "upstream", Kind: model.KindUpstream, ID: p.id}
			page, err := h.opts.Store.List(r.Context(), model.KindTarget, opts)
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			data, node, err := h.withHealth(r.Context(), p.id, items(page))
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			body := map[string]any{"data": data, "next": nil, "node_id": node}
			if page.Next != "" {
				body["offset"] = page.Next
				body["next"] = pathPrefix(r) + r.URL.EscapedPath() + "?" + url.Values{"offset": {page.Next}}.Encode()
			}
			writeJSON(w, http.StatusOK, body)
		})
}

// withHealth adds to targets the health the data plane seen last among
// those reporting upstream reported, and names that data plane (this
// node when none reported).
func (h *Handler) withHealth(ctx context.Context, upstream string, targets []model.Entity) ([]any, string, error) {
	out := make([]any, len(targets))
	for i, t := range targets {
		out[i] = t
	}
	if h.opts.DataPlanes == nil {
		return out, h.opts.NodeID, nil
	}
	nodes, err := h.opts.DataPlanes.ListNodes(ctx)
	if err != nil {
		return nil, "", err
	}
	var from *cluster.Node
	for i := range nodes {
		n := &nodes[i]
		if reports(n, upstream) && (from == nil || n.LastSeen > from.LastSeen) {
			from = n
		}
	}
	if from == nil {
		return out, h.opts.NodeID, nil
	}
	health := map[string]string{}
	for _, th := range from.Health {
		if th.UpstreamID == upstream {
			health[th.Target] = th.Health
		}
	}
	for i, t := range targets {
		tg, ok := t.(*model.Target)
		if !ok || health[tg.Target] == "" {
			continue
		}
		m, err := toMap(t)
		if err != nil {
			return nil, "", err
		}
		m["health"] = health[tg.Target]
		out[i] = m
	}
	return out, from.NodeID, nil
}

func reports(n *cluster.Node, upstream string) bool {
	for _, th := range n.Health {
		if th.UpstreamID == upstream {
			return true
		}
	}
	return false
}

func items(page store.Page) []model.Entity {
	if page.Items == nil {
		return []model.Entity{}
	}
	return page.Items
}
