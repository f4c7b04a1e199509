package admin

import (
	"net/http"
	"net/url"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Upstream health as Kong 3.9's control plane answers it
// (kong/api/routes/upstreams.lua): a control plane runs no balancer, so
// GET /upstreams/{u}/health lists the upstream's targets without a health
// state, and ?balancer_health=1 has no data; the targets' healthy and
// unhealthy endpoints exist only on nodes that proxy (Kong registers them
// unless role is control_plane), so they are not found here.

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
			body := map[string]any{"data": items(page), "next": nil, "node_id": h.opts.NodeID}
			if page.Next != "" {
				body["offset"] = page.Next
				body["next"] = pathPrefix(r) + r.URL.EscapedPath() + "?" + url.Values{"offset": {page.Next}}.Encode()
			}
			writeJSON(w, http.StatusOK, body)
		})
}

func items(page store.Page) []model.Entity {
	if page.Items == nil {
		return []model.Entity{}
	}
	return page.Items
}
