package router

import (
	"maps"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// Update returns the router of routes and services for a configuration
// that follows prev's (prev built by New or Update). Routes and services
// are compared with prev's by id and pointer (a delta's result shares the
// entities it left alone): the routes that changed, and those of services
// that changed, are compiled, and only the host buckets their old and new
// versions are filed in are rebuilt; everything else is shared with prev,
// which is not modified and keeps serving its readers. It answers every
// request as New(routes, services) would. Lists not sorted by id, or prev
// nil, make it New.
func Update(prev *Router, routes []*model.Route, services []*model.Service) (*Router, error) {
	if prev == nil || !sortedByID(routes) || !sortedByID(services) {
		return New(routes, services)
	}
	changedSvc := changedIDs(prev.services, services)
	var old, fresh []*model.Route
	diff(prev.routes, routes, func(was, now *model.Route) {
		if was == now && (now.Service == nil || !changedSvc[now.Service.ID]) {
			return
		}
		if was != nil {
			old = append(old, was)
		}
		if now != nil {
			fresh = append(fresh, now)
		}
	})
	if len(old) == 0 && len(fresh) == 0 {
		r := *prev
		r.routes, r.services = routes, services
		return &r, nil
	}
	byID := servicesByID(services)
	var added []*entry
	for _, rt := range fresh {
		es, err := compileWith(rt, byID, nil)
		if err != nil {
			return nil, err
		}
		added = append(added, es...)
	}
	return prev.patch(old, added, routes, services), nil
}

// patch returns prev with the entries of the routes in old taken out and
// added filed in: the affected buckets rebuilt, the others shared.
func (r *Router) patch(old []*model.Route, added []*entry, routes []*model.Route, services []*model.Service) *Router {
	out := &Router{exact: maps.Clone(r.exact), suffix: r.suffix.clone(), prefix: r.prefix.clone(), any: r.any,
		size: r.size, routes: routes, services: services}
	gone := make(map[string]bool, len(old))
	keys := map[hostKey]bool{}
	for _, rt := range old {
		gone[rt.ID] = true
		keys = addKeys(keys, parsedHosts(rt.Hosts))
	}
	for _, e := range added {
		gone[e.route.ID] = true
		keys = addKeys(keys, parsedHosts(e.route.Hosts))
	}
	fresh := slotsByKey(added)
	removed := map[*entry]bool{}
	for k := range keys {
		slots := r.find(k).collect()
		kept := slices.DeleteFunc(slots, func(s slot) bool {
			if gone[s.e.route.ID] {
				removed[s.e] = true
				return true
			}
			return false
		})
		kept = append(kept, fresh[k]...)
		slices.SortStableFunc(kept, func(a, b slot) int { return order(a.e, b.e) })
		out.put(k, kept)
	}
	out.size += len(added) - len(removed)
	for k := range keys {
		// Only a changed wildcard bucket can change its kind's best entry.
		switch k.kind {
		case hostSuffix:
			out.suffix.top = nil
		case hostPrefix:
			out.prefix.top = nil
		}
	}
	if out.suffix.top == nil {
		out.suffix.retop()
	}
	if out.prefix.top == nil {
		out.prefix.retop()
	}
	return out
}

// anyHost is the key of the bucket of routes without hosts.
var anyHost = hostKey{kind: hostAny}

// parsedHosts returns the host keys of hosts; anyHost alone for none.
func parsedHosts(hosts []string) []hostKey {
	out := make([]hostKey, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, parseHostKey(h))
	}
	return out
}

// addKeys adds the buckets hosts are filed in (without their ports) to
// keys: the any bucket for no hosts.
func addKeys(keys map[hostKey]bool, hosts []hostKey) map[hostKey]bool {
	if len(hosts) == 0 {
		keys[anyHost] = true
	}
	for _, h := range hosts {
		keys[hostKey{kind: h.kind, key: h.key}] = true
	}
	return keys
}

// slotsByKey files the slots of entries under the buckets they go in (a
// host's bucket is its key without the port; the any bucket for a route
// without hosts), each bucket's slots in entries' order: one pass over
// the entries, so a patch costs what it adds, not what it adds times the
// buckets it touches.
func slotsByKey(entries []*entry) map[hostKey][]slot {
	out := make(map[hostKey][]slot, len(entries))
	for _, e := range entries {
		if len(e.route.Hosts) == 0 {
			out[anyHost] = append(out[anyHost], slot{e: e})
			continue
		}
		for h := range e.hostList {
			k := hostKey{kind: h.kind, key: h.key}
			out[k] = append(out[k], slot{e: e, port: h.port})
		}
	}
	return out
}

// find returns the bucket of key, nil when there is none.
func (r *Router) find(key hostKey) *bucket {
	switch key.kind {
	case hostAny:
		return r.any
	case hostSuffix:
		return r.suffix.m[key.key]
	case hostPrefix:
		return r.prefix.m[key.key]
	}
	return r.exact[key.key]
}

// put replaces the bucket of key with a new one holding slots (best
// first); an empty one is dropped.
func (r *Router) put(key hostKey, slots []slot) {
	b := &bucket{}
	for _, s := range slots {
		b.add(s.e, s.port)
	}
	empty := len(slots) == 0
	switch key.kind {
	case hostAny:
		r.any = b
	case hostSuffix:
		r.suffix.set(key.key, b, empty)
	case hostPrefix:
		r.prefix.set(key.key, b, empty)
	default:
		if empty {
			delete(r.exact, key.key)
		} else {
			r.exact[key.key] = b
		}
	}
}

// collect returns every slot b holds, each once, in no order.
func (b *bucket) collect() []slot {
	if b == nil {
		return nil
	}
	seen := map[slot]bool{}
	var out []slot
	keep := func(ss []slot) {
		for _, s := range ss {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	keep(b.regex)
	keep(b.pathless)
	var walk func(n *node)
	walk = func(n *node) {
		keep(n.slots)
		for _, c := range n.children {
			walk(c)
		}
	}
	keep(b.few.slots)
	if b.paths != nil {
		walk(b.paths)
	}
	return out
}

// clone returns a copy of w whose map can be changed.
func (w wildcards) clone() wildcards {
	return wildcards{m: maps.Clone(w.m), lens: slices.Clone(w.lens), top: w.top}
}

// set files b under key, or drops key when empty.
func (w *wildcards) set(key string, b *bucket, empty bool) {
	if !empty {
		w.bucket(key) // the length recorded
		w.m[key] = b
		return
	}
	delete(w.m, key)
	w.lens = w.lens[:0]
	for k := range w.m {
		w.lens = insertLen(w.lens, len(k))
	}
}

// sortedByID reports whether list is sorted by id, each id once.
func sortedByID[T model.Entity](list []T) bool {
	for i := 1; i < len(list); i++ {
		if list[i-1].Meta().ID >= list[i].Meta().ID {
			return false
		}
	}
	return true
}

// changedIDs returns the ids of the services added, removed or changed
// from before to now (both sorted by id).
func changedIDs(before, now []*model.Service) map[string]bool {
	out := map[string]bool{}
	diff(before, now, func(was, is *model.Service) {
		if was != is {
			if was != nil {
				out[was.ID] = true
			} else {
				out[is.ID] = true
			}
		}
	})
	return out
}

// diff walks two lists sorted by id together, calling fn with each id's
// entity in before and in now (nil where absent).
func diff[T model.Entity](before, now []T, fn func(was, is T)) {
	var zero T
	i, j := 0, 0
	for i < len(before) || j < len(now) {
		switch {
		case j == len(now) || (i < len(before) && strings.Compare(before[i].Meta().ID, now[j].Meta().ID) < 0):
			fn(before[i], zero)
			i++
		case i == len(before) || strings.Compare(before[i].Meta().ID, now[j].Meta().ID) > 0:
			fn(zero, now[j])
			j++
		default:
			fn(before[i], now[j])
			i, j = i+1, j+1
		}
	}
}
