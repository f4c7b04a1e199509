package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Page sizes.
const (
	defaultSize = 100
	maxSize     = 1000
)

// listBody is Kong's page body; Offset appears only when more follow.
type listBody struct {
	Data   []model.Entity `json:"data"`
	Next   *string        `json:"next"`
	Offset string         `json:"offset,omitempty"`
}

// list serves GET on a collection.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, k model.Kind, p *parent) {
	q := r.URL.Query()
	if err := checkFilters(q, k, p != nil); err != nil {
		h.writeError(w, r, err)
		return
	}
	if k == model.KindConsumer && p == nil && q.Has("custom_id") {
		if q.Get("custom_id") == "" {
			writeJSON(w, http.StatusBadRequest, message("custom_id must be an unempty string"))
			return
		}
		h.consumerByCustomID(w, r, q.Get("custom_id"))
		return
	}
	opts, err := listOptions(q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if p != nil {
		opts.Parent = &model.Reference{Field: p.rel.field, Kind: p.rel.parent, ID: p.id}
	}
	page, err := h.opts.Store.List(r.Context(), k, opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := listBody{Data: make([]model.Entity, 0, len(page.Items))}
	for _, e := range page.Items {
		if shown, ok := h.presented(e); ok {
			body.Data = append(body.Data, shown)
			continue
		}
		h.reapListed(r.Context(), e)
	}
	if page.Next != "" {
		next := url.Values{}
		for _, key := range []string{"size", "tags"} {
			if v := q.Get(key); v != "" {
				next.Set(key, v)
			}
		}
		next.Set("offset", page.Next)
		link := pathPrefix(r) + r.URL.EscapedPath() + "?" + next.Encode()
		body.Next, body.Offset = &link, page.Next
	}
	writeJSON(w, http.StatusOK, body)
}

// listOptions reads size, offset and tags.
func listOptions(q url.Values) (store.ListOptions, error) {
	opts := store.ListOptions{Size: defaultSize, Offset: q.Get("offset")}
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
	if t := q.Get("tags"); t != "" {
		and, or := strings.Contains(t, ","), strings.Contains(t, "/")
		if and && or {
			return opts, fieldError("tags", "invalid filter syntax: cannot mix ',' and '/'")
		}
		sep := ","
		if or {
			sep, opts.TagsAny = "/", true
		}
		for _, tag := range strings.Split(t, sep) {
			if tag == "" {
				return opts, fieldError("tags", "invalid filter syntax: empty tag")
			}
			opts.Tags = append(opts.Tags, tag)
		}
	}
	return opts, nil
}

// pathPrefix is the prefix a proxy in front removed from the path (API
// Gateway's named stage), from X-Forwarded-Prefix, for links.
func pathPrefix(r *http.Request) string {
	p := r.Header.Get("X-Forwarded-Prefix")
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "?#\\ ") {
		return ""
	}
	return strings.TrimSuffix(p, "/")
}
