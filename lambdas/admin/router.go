package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// relation is a nested collection: entities of kind child whose reference
// field points to an entity of kind parent, served at
// /{parent collection}/{parent}/{seg}. The same relation gives the
// foreign-entity endpoint /{child collection}/{child}/{field}.
type relation struct {
	parent model.Kind
	seg    string
	child  model.Kind
	field  string
}

var relations = []relation{
	{model.KindService, "routes", model.KindRoute, "service"},
	{model.KindService, "plugins", model.KindPlugin, "service"},
	{model.KindRoute, "plugins", model.KindPlugin, "route"},
	{model.KindConsumer, "plugins", model.KindPlugin, "consumer"},
	{model.KindConsumer, "key-auth", model.KindKeyAuth, "consumer"},
	{model.KindConsumer, "basic-auth", model.KindBasicAuth, "consumer"},
	{model.KindConsumer, "jwt", model.KindJWT, "consumer"},
	{model.KindConsumer, "acls", model.KindACL, "consumer"},
	{model.KindConsumer, "hmac-auth", model.KindHMACAuth, "consumer"},
	{model.KindConsumer, "oauth2", model.KindOAuth2, "consumer"},
	{model.KindKeySet, "keys", model.KindKey, "set"},
	{model.KindUpstream, "targets", model.KindTarget, "upstream"},
	{model.KindCertificate, "snis", model.KindSNI, "certificate"},
}

func nestedRelation(parent model.Kind, seg string) (relation, bool) {
	for _, rel := range relations {
		if rel.parent == parent && rel.seg == seg {
			return rel, true
		}
	}
	return relation{}, false
}

func foreignRelation(child model.Kind, field string) (relation, bool) {
	for _, rel := range relations {
		if rel.child == child && rel.field == field {
			return rel, true
		}
	}
	return relation{}, false
}

// topLevel finds the kind served at a top-level collection segment.
func topLevel(seg string) (model.Kind, bool) {
	for _, k := range model.Kinds {
		if c := k.Info().Collection; c != "" && c == seg {
			return k, true
		}
	}
	return "", false
}

// route dispatches on the path's segments.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(r.URL.EscapedPath())
	if len(segs) == 0 {
		h.only(w, r, http.MethodGet, h.root)
		return
	}
	switch segs[0] {
	case "status":
		if len(segs) == 1 {
			h.only(w, r, http.MethodGet, h.status)
			return
		}
	case "config":
		if len(segs) == 1 {
			h.config(w, r)
			return
		}
		switch {
		case segs[1] == "revisions":
			h.revisions(w, r, segs[2:])
			return
		case h.opts.Rollouts != nil && segs[1] == "rollout-policy" && len(segs) == 2:
			h.rolloutPolicy(w, r)
			return
		case h.opts.Rollouts != nil && segs[1] == "rollouts":
			h.rollouts(w, r, segs[2:])
			return
		case h.opts.Imports != nil && segs[1] == "imports":
			h.imports(w, r, segs[2:])
			return
		}
	case "schemas":
		h.schemas(w, r, segs[1:])
		return
	case "clustering":
		h.clustering(w, r, segs[1:])
		return
	case "endpoints":
		if len(segs) == 1 {
			h.only(w, r, http.MethodGet, h.endpoints)
			return
		}
	case "tags":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.tags(w, r, segs[1:]) })
		return
	case "plugins":
		if len(segs) == 2 && segs[1] == "enabled" {
			h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"enabled_plugins": h.available()})
			})
			return
		}
	}
	kind, ok := topLevel(segs[0])
	if !ok {
		notFound(w)
		return
	}
	switch len(segs) {
	case 1:
		h.collection(w, r, kind, nil)
	case 2:
		h.entity(w, r, kind, segs[1], nil)
	case 3:
		if kind == model.KindUpstream && segs[2] == "health" {
			h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.upstreamHealth(w, r, segs[1]) })
			return
		}
		if rel, ok := nestedRelation(kind, segs[2]); ok {
			h.withParent(w, r, rel, segs[1], func(p *parent) { h.collection(w, r, rel.child, p) })
			return
		}
		if rel, ok := foreignRelation(kind, segs[2]); ok {
			h.foreign(w, r, rel, segs[1])
			return
		}
		notFound(w)
	case 4:
		rel, ok := nestedRelation(kind, segs[2])
		if !ok {
			notFound(w)
			return
		}
		if rel.child == model.KindTarget && segs[3] == "all" {
			// Kong's /upstreams/{u}/targets/all: every target, as listed.
			h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				h.withParent(w, r, rel, segs[1], func(p *parent) { h.list(w, r, rel.child, p) })
			})
			return
		}
		h.withParent(w, r, rel, segs[1], func(p *parent) { h.entity(w, r, rel.child, segs[3], p) })
	default:
		notFound(w)
	}
}

// only serves fn for method (and HEAD for GET), 405 otherwise.
func (h *Handler) only(w http.ResponseWriter, r *http.Request, method string, fn http.HandlerFunc) {
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		methodNotAllowed(w)
		return
	}
	fn(w, r)
}

// splitPath splits an escaped path into unescaped segments, ignoring empty
// ones (a trailing slash).
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s == "" {
			continue
		}
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		out = append(out, s)
	}
	return out
}
