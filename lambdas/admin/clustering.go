package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// dataPlanesBody is the body of GET /clustering/data-planes: Kong's page.
type dataPlanesBody struct {
	Data   []cluster.DataPlane `json:"data"`
	Next   *string             `json:"next"`
	Offset string              `json:"offset,omitempty"`
}

// clustering serves /clustering/data-planes (paginated as every Kong
// collection: size, offset, next) and /clustering/status (Kong's
// deprecated map of every data plane).
func (h *Handler) clustering(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) != 1 || (segs[0] != "data-planes" && segs[0] != "status") {
		notFound(w)
		return
	}
	h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		if segs[0] == "data-planes" {
			h.dataPlanes(w, r)
			return
		}
		h.clusteringStatus(w, r)
	})
}

func (h *Handler) dataPlanes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts, err := dataPlaneOptions(q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := dataPlanesBody{Data: []cluster.DataPlane{}}
	if h.opts.DataPlanes != nil {
		page, err := h.opts.DataPlanes.ListDataPlanes(r.Context(), opts)
		if errors.Is(err, cluster.ErrInvalidOffset) {
			err = model.NewError(model.CodeInvalidOffset, "'%s' is not a valid offset for this pagination", opts.Offset)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		body.Data = append(body.Data, page.Data...)
		if page.Next != "" {
			next := url.Values{}
			if v := q.Get("size"); v != "" {
				next.Set("size", v)
			}
			next.Set("offset", page.Next)
			link := pathPrefix(r) + r.URL.EscapedPath() + "?" + next.Encode()
			body.Next, body.Offset = &link, page.Next
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// dataPlaneOptions reads size and offset as every list does.
func dataPlaneOptions(q url.Values) (cluster.ListOptions, error) {
	opts := cluster.ListOptions{Size: defaultSize, Offset: q.Get("offset")}
	if s := q.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return opts, model.NewError(model.CodeInvalidSize, "size must be a number")
		}
		if n < 1 || n > maxSize {
			return opts, model.NewError(model.CodeInvalidSize, "size must be an integer between 1 and %d", maxSize)
		}
		opts.Size = n
	}
	return opts, nil
}

// clusteringStatus serves Kong's deprecated GET /clustering/status: every
// data plane by id, read a page at a time (the registry's per-credential
// row limit bounds the whole).
func (h *Handler) clusteringStatus(w http.ResponseWriter, r *http.Request) {
	byID := map[string]any{}
	opts := cluster.ListOptions{Size: maxSize}
	for h.opts.DataPlanes != nil {
		page, err := h.opts.DataPlanes.ListDataPlanes(r.Context(), opts)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		for _, dp := range page.Data {
			byID[dp.ID] = map[string]any{"config_hash": dp.ConfigHash, "hostname": dp.Hostname,
				"ip": dp.IP, "last_seen": dp.LastSeen}
		}
		if page.Next == "" {
			break
		}
		opts.Offset = page.Next
	}
	w.Header().Set("Deprecation", "true")
	writeJSON(w, http.StatusOK, byID)
}
