package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

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
	if len(segs) != 1 || (segs[0] != "data-planes" && segs[0] != "status" && segs[0] != "summary") {
		notFound(w)
		return
	}
	h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		switch segs[0] {
		case "data-planes":
			h.dataPlanes(w, r)
		case "summary":
			h.clusteringSummary(w, r)
		default:
			h.clusteringStatus(w, r)
		}
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
			for _, k := range []string{"size", "sync_status", "labels"} {
				if v := q.Get(k); v != "" {
					next.Set(k, v)
				}
			}
			next.Set("offset", page.Next)
			link := pathPrefix(r) + r.URL.EscapedPath() + "?" + next.Encode()
			body.Next, body.Offset = &link, page.Next
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// dataPlaneOptions reads size and offset as every list does, and the
// filters: sync_status (one of cluster.SyncStatuses) and labels (k:v,k:v,
// every one required, as Kong's cluster_dp_labels are written).
func dataPlaneOptions(q url.Values) (cluster.ListOptions, error) {
	opts := cluster.ListOptions{Size: defaultSize, Offset: q.Get("offset"), SyncStatus: q.Get("sync_status")}
	if opts.SyncStatus != "" && !slices.Contains(cluster.SyncStatuses, opts.SyncStatus) {
		return opts, model.NewError(model.CodeSchemaViolation, "sync_status must be one of %s",
			strings.Join(cluster.SyncStatuses, ", "))
	}
	if v := q.Get("labels"); v != "" {
		opts.Labels = map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, ":")
			if !ok || k == "" {
				return opts, model.NewError(model.CodeSchemaViolation, "labels must be key:value pairs separated by commas")
			}
			opts.Labels[k] = val
		}
	}
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

// summaryBody is the body of GET /clustering/summary: data planes counted
// by the revision they run, their sync_status, their last apply state and
// their version.
type summaryBody struct {
	Total        int            `json:"total"`
	ByRevision   map[string]int `json:"by_revision"`
	BySyncStatus map[string]int `json:"by_sync_status"`
	ByState      map[string]int `json:"by_state"`
	ByVersion    map[string]int `json:"by_version"`
}

// clusteringSummary serves GET /clustering/summary, read a page at a time
// with the same filters as /clustering/data-planes.
func (h *Handler) clusteringSummary(w http.ResponseWriter, r *http.Request) {
	opts, err := dataPlaneOptions(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	opts.Size, opts.Offset = maxSize, ""
	body := summaryBody{ByRevision: map[string]int{}, BySyncStatus: map[string]int{}, ByState: map[string]int{}, ByVersion: map[string]int{}}
	for h.opts.DataPlanes != nil {
		page, err := h.opts.DataPlanes.ListDataPlanes(r.Context(), opts)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		for _, dp := range page.Data {
			body.Total++
			body.ByRevision[strconv.FormatInt(dp.Revision, 10)]++
			body.BySyncStatus[dp.SyncStatus]++
			state := dp.State
			if state == "" {
				state = "none"
			}
			body.ByState[state]++
			body.ByVersion[dp.Version]++
		}
		if page.Next == "" {
			break
		}
		opts.Offset = page.Next
	}
	writeJSON(w, http.StatusOK, body)
}
