package admin

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// schemas serves GET /schemas/{entity}, GET /schemas/plugins/{name},
// POST /schemas/{entity}/validate and POST /schemas/plugins/validate
// (kong/api/routes/kong.lua). The documents are Kong 3.9.3's, as
// model.Schema and pluginschema describe them.
func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 2 && segs[0] == "plugins" && segs[1] != "validate":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			s, ok := pluginschema.Lookup(segs[1])
			if !ok || (h.plugins != nil && !h.plugins[segs[1]]) {
				writeJSON(w, http.StatusNotFound, message("No plugin named '"+segs[1]+"'"))
				return
			}
			writeRaw(w, http.StatusOK, s.Doc)
		})
	case len(segs) == 2 && segs[0] == "vaults" && segs[1] != "validate":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			doc, ok := model.VaultSchema(segs[1])
			if !ok {
				writeJSON(w, http.StatusNotFound, message("No vault named '"+segs[1]+"'"))
				return
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, doc); err != nil {
				h.writeError(w, r, err)
				return
			}
			writeRaw(w, http.StatusOK, compact.Bytes())
		})
	case len(segs) == 1 && segs[0] == "tags":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			writeRaw(w, http.StatusOK, []byte(tagsSchema))
		})
	case len(segs) == 1 || (len(segs) == 2 && segs[1] == "validate"):
		k, ok := kindBySchema(segs[0])
		if !ok {
			writeJSON(w, http.StatusNotFound, message("No entity named '"+segs[0]+"'"))
			return
		}
		if len(segs) == 1 {
			h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				doc, err := model.Schema(k)
				if err == nil {
					var compact bytes.Buffer
					if err = json.Compact(&compact, doc); err == nil {
						writeRaw(w, http.StatusOK, compact.Bytes())
						return
					}
				}
				h.writeError(w, r, err)
			})
			return
		}
		h.only(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			body, err := h.readBody(withoutResolving(r), k, "")
			if err == nil {
				_, err = h.build(k, body)
			}
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, message("schema validation successful"))
		})
	default:
		notFound(w)
	}
}

func kindBySchema(name string) (model.Kind, bool) {
	for _, k := range model.Kinds {
		if k.Info().Schema == name {
			return k, true
		}
	}
	return "", false
}

// writeRaw answers an already encoded JSON body.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// tagsSchema is Kong 3.9's schema of the tags entity
// (kong/db/schema/entities/tags.lua), the rows GET /tags lists.
const tagsSchema = `{"entity_checks":[],"fields":[{"tag":{"required":true,"type":"string"}},` +
	`{"entity_name":{"required":true,"type":"string"}},` +
	`{"entity_id":{"auto":true,"required":true,"type":"string","uuid":true}}]}`
