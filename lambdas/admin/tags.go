package admin

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// tagRow is one row of Kong's tags entity (kong/db/schema/entities/tags.lua):
// one per tag of every entity.
type tagRow struct {
	EntityName string `json:"entity_name"`
	EntityID   string `json:"entity_id"`
	Tag        string `json:"tag"`
}

// tagCursor is where a page of /tags stops: the kind (its index in
// model.Kinds), the store's offset of the page being read and how many
// of that page's rows were already answered.
type tagCursor struct {
	Kind   int    `json:"k"`
	Offset string `json:"o,omitempty"`
	Skip   int    `json:"s,omitempty"`
}

// tags serves GET /tags and GET /tags/{tag} (kong/api/routes/tags.lua):
// every tag of every entity, or every entity carrying one tag, paginated
// with size and offset.
func (h *Handler) tags(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) > 1 {
		notFound(w)
		return
	}
	q := r.URL.Query()
	opts, err := listOptions(url.Values{"size": q["size"]})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	cur, err := decodeTagCursor(q.Get("offset"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	tag := ""
	if len(segs) == 1 {
		tag = segs[0]
	}
	rows, next, err := h.tagPage(r, tag, opts.Size, cur)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := struct {
		Data   []tagRow `json:"data"`
		Offset string   `json:"offset,omitempty"`
		Next   *string  `json:"next"`
	}{Data: rows}
	if next != nil {
		body.Offset = encodeTagCursor(*next)
		v := url.Values{"offset": {body.Offset}}
		if q.Has("size") {
			v.Set("size", q.Get("size"))
		}
		link := pathPrefix(r) + r.URL.EscapedPath() + "?" + v.Encode()
		body.Next = &link
	}
	writeJSON(w, http.StatusOK, body)
}

// tagPage reads rows from cur on until size are found; next is nil when
// none are left.
func (h *Handler) tagPage(r *http.Request, tag string, size int, cur tagCursor) ([]tagRow, *tagCursor, error) {
	rows := []tagRow{}
	for cur.Kind < len(model.Kinds) {
		k := model.Kinds[cur.Kind]
		opts := store.ListOptions{Size: size, Offset: cur.Offset}
		if tag != "" {
			opts.Tags = []string{tag}
		}
		page, err := h.opts.Store.List(r.Context(), k, opts)
		if err != nil {
			return nil, nil, err
		}
		all := tagRows(h, page.Items, tag)
		if cur.Skip > len(all) {
			cur.Skip = len(all)
		}
		all = all[cur.Skip:]
		if room := size - len(rows); len(all) > room {
			rows = append(rows, all[:room]...)
			cur.Skip += room
			return rows, &cur, nil
		}
		rows = append(rows, all...)
		if page.Next != "" {
			cur = tagCursor{Kind: cur.Kind, Offset: page.Next}
		} else {
			cur = tagCursor{Kind: cur.Kind + 1}
		}
		if len(rows) == size {
			break
		}
	}
	if cur.Kind >= len(model.Kinds) {
		return rows, nil, nil
	}
	return rows, &cur, nil
}

// tagRows lists the rows of entities: each tag, or only tag when set.
func tagRows(h *Handler, items []model.Entity, tag string) []tagRow {
	var out []tagRow
	for _, e := range items {
		if h.expired(e) {
			continue
		}
		for _, t := range e.Meta().Tags {
			if tag == "" || t == tag {
				out = append(out, tagRow{EntityName: string(e.Kind()), EntityID: e.Meta().ID, Tag: t})
			}
		}
	}
	return out
}

func encodeTagCursor(c tagCursor) string {
	raw, _ := json.Marshal(c) // a struct of strings and ints always encodes
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeTagCursor(s string) (tagCursor, error) {
	var c tagCursor
	if s == "" {
		return c, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 4096 || json.Unmarshal(raw, &c) != nil || c.Kind < 0 || c.Kind > len(model.Kinds) || c.Skip < 0 {
		return tagCursor{}, model.NewError(model.CodeInvalidOffset, "'%s' is not a valid offset: bad base64 encoding", s)
	}
	return c, nil
}
