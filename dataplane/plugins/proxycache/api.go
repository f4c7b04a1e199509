package proxycache

import (
	"encoding/json"
	"net/http"
)

// cacheVersion is Kong's CACHE_VERSION, reported with each entry.
const cacheVersion = 1

// API serves the Admin API's proxy-cache routes
// (kong/plugins/proxy-cache/api.lua) over the store, for the data plane's
// status listener:
//
//	DELETE /proxy-cache                               every entry
//	GET|DELETE /proxy-cache/{cache_key}               one entry
//	GET|DELETE /proxy-cache/{plugin_id}/caches/{cache_key}
//
// Entries are per data plane: a purge clears this node's cache only.
func (s *Store) API() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /proxy-cache", func(w http.ResponseWriter, _ *http.Request) {
		s.Flush()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /proxy-cache/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.serveEntry(w, s.anyPlugin(), r.PathValue("key"), false)
	})
	mux.HandleFunc("DELETE /proxy-cache/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.serveEntry(w, s.anyPlugin(), r.PathValue("key"), true)
	})
	mux.HandleFunc("GET /proxy-cache/{plugin}/caches/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.serveEntry(w, s.hasPlugin(r.PathValue("plugin")), r.PathValue("key"), false)
	})
	mux.HandleFunc("DELETE /proxy-cache/{plugin}/caches/{key}", func(w http.ResponseWriter, r *http.Request) {
		s.serveEntry(w, s.hasPlugin(r.PathValue("plugin")), r.PathValue("key"), true)
	})
	return mux
}

func (s *Store) serveEntry(w http.ResponseWriter, found bool, key string, purge bool) {
	var e *Entry
	if found {
		e, found = s.Get(key)
	}
	switch {
	case !found:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	case purge:
		s.Purge(key)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, entryJSON(e))
	}
}

// entryJSON is the entry as Kong's memory strategy stores it.
func entryJSON(e *Entry) map[string]any {
	headers := make(map[string]any, len(e.Header))
	for k, vs := range e.Header {
		if len(vs) == 1 {
			headers[k] = vs[0]
		} else if len(vs) > 1 {
			headers[k] = vs
		}
	}
	return map[string]any{
		"status": e.Status, "headers": headers, "body": string(e.Body), "body_len": len(e.Body),
		"timestamp": e.Timestamp, "ttl": e.TTL, "version": cacheVersion, "req_body": string(e.ReqBody),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
