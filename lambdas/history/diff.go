package history

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/skyport-gw/skyport/internal/model"
)

// Operations of a Change.
const (
	OpCreated = "created"
	OpUpdated = "updated"
	OpDeleted = "deleted"
)

// Change is one entity's difference between two configurations.
type Change struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Name is the entity's endpoint key (name, username, …) when it has one.
	Name string `json:"name,omitempty"`
	Op   string `json:"op"`
	// Before and After are the entity in the older and newer configuration.
	Before model.Entity `json:"before,omitempty"`
	After  model.Entity `json:"after,omitempty"`
}

// Counts are the changes of one kind.
type Counts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// Summary counts changes by kind; kinds without changes are absent.
type Summary map[string]Counts

// Count returns the number of entities of each kind in cfg (kinds with
// none are absent). Each of cfg's lists holds one kind: it counts their
// lengths, in a time that does not grow with the configuration (a
// publication records it for every revision).
func Count(cfg *model.Config) map[string]int {
	out := map[string]int{}
	if cfg == nil {
		return out
	}
	count(out, cfg.Vaults)
	count(out, cfg.CACertificates)
	count(out, cfg.Certificates)
	count(out, cfg.SNIs)
	count(out, cfg.Services)
	count(out, cfg.Routes)
	count(out, cfg.Consumers)
	count(out, cfg.Upstreams)
	count(out, cfg.Targets)
	count(out, cfg.Plugins)
	count(out, cfg.KeyAuths)
	count(out, cfg.BasicAuths)
	count(out, cfg.JWTSecrets)
	count(out, cfg.ACLs)
	count(out, cfg.HMACAuths)
	count(out, cfg.OAuth2s)
	count(out, cfg.KeySets)
	count(out, cfg.Keys)
	return out
}

// count adds list's length to its kind's count.
func count[T model.Entity](out map[string]int, list []T) {
	if len(list) > 0 {
		var kind T // a nil entity: Kind needs no value
		out[string(kind.Kind())] += len(list)
	}
}

// Diff returns the entity-level differences from a to b (either may be
// nil, the empty configuration), sorted by kind, then id.
func Diff(a, b *model.Config) []Change {
	before, after := index(a), index(b)
	var out []Change
	for k, e := range after {
		old, ok := before[k]
		switch {
		case !ok:
			out = append(out, change(OpCreated, nil, e))
		case !sameEntity(old, e):
			out = append(out, change(OpUpdated, old, e))
		}
	}
	for k, e := range before {
		if _, ok := after[k]; !ok {
			out = append(out, change(OpDeleted, e, nil))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// DiffSummary returns Summarize(Diff(a, b)) without building the
// changes: only a's entities are indexed, and no change is kept (a
// revision that replaces a million entities is counted, not listed).
func DiffSummary(a, b *model.Config) Summary {
	before := index(a)
	s := Summary{}
	count := func(e model.Entity, op func(*Counts)) {
		n := s[string(e.Kind())]
		op(&n)
		s[string(e.Kind())] = n
	}
	if b != nil {
		b.Each(func(e model.Entity) {
			k := entityKey{e.Kind(), e.Meta().ID}
			old, ok := before[k]
			switch {
			case !ok:
				count(e, func(n *Counts) { n.Created++ })
			case !sameEntity(old, e):
				count(e, func(n *Counts) { n.Updated++ })
			}
			if ok {
				delete(before, k)
			}
		})
	}
	for _, e := range before {
		count(e, func(n *Counts) { n.Deleted++ })
	}
	return s
}

// Summarize counts changes by kind.
func Summarize(changes []Change) Summary {
	s := Summary{}
	for _, c := range changes {
		n := s[c.Kind]
		switch c.Op {
		case OpCreated:
			n.Created++
		case OpUpdated:
			n.Updated++
		case OpDeleted:
			n.Deleted++
		}
		s[c.Kind] = n
	}
	return s
}

type entityKey struct {
	kind model.Kind
	id   string
}

func index(cfg *model.Config) map[entityKey]model.Entity {
	out := map[entityKey]model.Entity{}
	if cfg == nil {
		return out
	}
	cfg.Each(func(e model.Entity) { out[entityKey{e.Kind(), e.Meta().ID}] = e })
	return out
}

func change(op string, before, after model.Entity) Change {
	e := after
	if e == nil {
		e = before
	}
	c := Change{Kind: string(e.Kind()), ID: e.Meta().ID, Op: op, Before: before, After: after}
	c.Name = endpointKey(e)
	return c
}

// endpointKey reads the entity's endpoint key field (name, username, …)
// from its JSON, empty when it has none.
func endpointKey(e model.Entity) string {
	field := e.Kind().Info().EndpointKey
	if field == "" {
		return ""
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := m[field].(string)
	return s
}

// sameEntity compares two entities by their JSON, which encodes every
// field in a fixed order.
func sameEntity(a, b model.Entity) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// Changed returns the change from before to after, one entity's two
// versions (either may be nil: created, deleted); false when both encode
// alike or both are nil. Diff of two configurations is Changed of each
// entity of either.
func Changed(before, after model.Entity) (Change, bool) {
	switch {
	case before == nil && after == nil:
		return Change{}, false
	case before == nil:
		return change(OpCreated, nil, after), true
	case after == nil:
		return change(OpDeleted, before, nil), true
	case sameEntity(before, after):
		return Change{}, false
	}
	return change(OpUpdated, before, after), true
}
