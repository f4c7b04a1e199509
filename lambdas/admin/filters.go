package admin

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Kong's list endpoints read size, offset and tags (kong/api/endpoints.lua
// extract_options and get_collection_endpoint), and /consumers also
// custom_id (kong/api/routes/consumers.lua); Kong ignores any other query
// parameter. Ignoring a parameter that names a field of the listed entity
// would hand a client that filters by it unrelated entities, so such a
// parameter is refused with Kong's invalid-options error; other parameters
// (cache busters and the like) are ignored as Kong ignores them.

// pageParams are the query parameters every list endpoint reads.
var pageParams = []string{"size", "offset", "tags"}

// checkFilters refuses query parameters naming a field of kind k that the
// list endpoint does not filter on.
func checkFilters(q url.Values, k model.Kind, nested bool) error {
	fields := entityFieldNames(k)
	bad := map[string]string{}
	for name := range q {
		if contains(pageParams, name) || (name == "custom_id" && k == model.KindConsumer && !nested) {
			continue
		}
		if fields[name] {
			bad[name] = "filtering by this field is not supported; this list filters by " + supportedFilters(k, nested)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return invalidOptions(bad)
}

func supportedFilters(k model.Kind, nested bool) string {
	if k == model.KindConsumer && !nested {
		return "custom_id, tags, size and offset"
	}
	return "tags, size and offset"
}

// invalidOptions is Kong's invalid options error (kong/db/errors.lua).
func invalidOptions(bad map[string]string) error {
	names := make([]string, 0, len(bad))
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	fields := make(map[string]any, len(names))
	for i, n := range names {
		parts[i] = n + ": " + bad[n]
		fields[n] = bad[n]
	}
	msg := "invalid option (" + strings.Join(parts, "; ") + ")"
	if len(names) > 1 {
		msg = "invalid options (" + strings.Join(parts, "; ") + ")"
	}
	return &model.Error{Code: model.CodeInvalidOptions, Name: model.CodeInvalidOptions.Name(), Message: msg, Fields: fields}
}

// entityFieldNames are the top-level JSON fields of kind k.
func entityFieldNames(k model.Kind) map[string]bool {
	out := map[string]bool{}
	e, err := model.New(k)
	if err != nil {
		return out
	}
	m, err := toMap(e)
	if err != nil {
		return out
	}
	for name := range m {
		out[name] = true
	}
	for _, name := range []string{"id", "created_at", "updated_at"} {
		out[name] = true
	}
	return out
}

func contains(list []string, s string) bool {
	for _, it := range list {
		if it == s {
			return true
		}
	}
	return false
}

// consumerByCustomID answers GET /consumers?custom_id=…: the consumer with
// that custom_id, or none, on one page (Kong's select_by_custom_id).
func (h *Handler) consumerByCustomID(w http.ResponseWriter, r *http.Request, customID string) {
	found, err := h.findConsumer(r.Context(), customID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := listBody{Data: []model.Entity{}}
	if found != nil {
		body.Data = append(body.Data, found)
	}
	writeJSON(w, http.StatusOK, body)
}

// findConsumer returns the consumer whose custom_id is customID, by the
// store's unique index (custom_id is unique); nil if there is none.
func (h *Handler) findConsumer(ctx context.Context, customID string) (model.Entity, error) {
	page, err := h.opts.Store.List(ctx, model.KindConsumer, store.ListOptions{
		Size: 1, Unique: &model.UniqueKey{Field: "custom_id", Value: customID},
	})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}
