package router

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// ErrInvalidRegex reports a route whose regex path or header regex does not
// compile.
var ErrInvalidRegex = errors.New("invalid regex")

// ErrUnknownService reports a route that points to a service not in the
// snapshot.
var ErrUnknownService = errors.New("unknown service")

// entry is one compiled route, or one path group of a route: Kong splits a
// route whose paths differ in kind (regex or prefix) or prefix length into
// one matcher per group, each with its own priority.
type entry struct {
	rank      int // position in priority order; lower wins
	priority  uint64
	route     *model.Route
	service   *model.Service
	group     int      // index of the path group within the route
	methods   []string // upper case; empty matches any
	snis      []string // lower case, no trailing dot
	headers   []headerMatcher
	hosts     []hostKey
	prefixes  []string         // normalized prefix paths
	prefixLen int              // length of the group's prefixes as configured
	regexes   []*regexp.Regexp // anchored at the start
	literals  []string         // literal prefix of each regex, "" if none
}

// compile turns routes into entries sorted by priority, ranks assigned.
func compile(routes []*model.Route, services []*model.Service) ([]*entry, error) {
	byID := make(map[string]*model.Service, len(services))
	for _, s := range services {
		byID[s.ID] = s
	}
	var entries []*entry
	for _, rt := range routes {
		var svc *model.Service
		if rt.Service != nil && rt.Service.ID != "" {
			svc = byID[rt.Service.ID]
			if svc == nil {
				return nil, fmt.Errorf("compiling route %s: service %s: %w", routeName(rt), rt.Service.ID, ErrUnknownService)
			}
			if !svc.Enabled {
				continue
			}
		}
		es, err := compileRoute(rt, svc)
		if err != nil {
			return nil, fmt.Errorf("compiling route %s: %w", routeName(rt), err)
		}
		entries = append(entries, es...)
	}
	slices.SortStableFunc(entries, func(a, b *entry) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		if c := cmp.Compare(a.route.CreatedAt, b.route.CreatedAt); c != 0 {
			return c
		}
		if c := cmp.Compare(a.route.ID, b.route.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.group, b.group)
	})
	for i, e := range entries {
		e.rank = i
	}
	return entries, nil
}

// compileRoute builds the route's entries, one per path group.
func compileRoute(rt *model.Route, svc *model.Service) ([]*entry, error) {
	base := entry{route: rt, service: svc}
	for _, m := range rt.Methods {
		base.methods = append(base.methods, strings.ToUpper(m))
	}
	for _, s := range rt.SNIs {
		s = strings.ToLower(s)
		if len(s) > 1 && strings.HasSuffix(s, ".") {
			s = s[:len(s)-1]
		}
		base.snis = append(base.snis, s)
	}
	for _, h := range rt.Hosts {
		base.hosts = append(base.hosts, parseHostKey(h))
	}
	var err error
	if base.headers, err = compileHeaders(rt.Headers); err != nil {
		return nil, err
	}
	if len(rt.Paths) == 0 {
		e := base
		e.priority = priority(&e)
		return []*entry{&e}, nil
	}
	var out []*entry
	for i, g := range groupPaths(rt.Paths) {
		e := base
		e.group = i
		if err := e.setPaths(g); err != nil {
			return nil, err
		}
		e.priority = priority(&e)
		out = append(out, &e)
	}
	return out, nil
}

// groupPaths splits paths into Kong's groups: all regexes together, and
// prefixes by length, in order of first appearance.
func groupPaths(paths []string) [][]string {
	var groups [][]string
	pos := map[int]int{}
	for _, p := range paths {
		k := -1
		if !isRegex(p) {
			k = len(p)
		}
		i, ok := pos[k]
		if !ok {
			i = len(groups)
			pos[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], p)
	}
	return groups
}

// setPaths compiles one path group.
func (e *entry) setPaths(paths []string) error {
	for _, p := range paths {
		if !isRegex(p) {
			e.prefixes = append(e.prefixes, Normalize(p))
			e.prefixLen = len(p)
			continue
		}
		// The pattern must stand on its own ("a)(b" must not pass as
		// "^(?:a)(b)"); its unanchored form also reports the literal
		// every match starts with.
		raw, err := regexp.Compile(p[1:])
		if err != nil {
			return fmt.Errorf("path %q: %w: %w", p, ErrInvalidRegex, err)
		}
		anchored, err := regexp.Compile("^(?:" + p[1:] + ")")
		if err != nil {
			return fmt.Errorf("path %q: %w: %w", p, ErrInvalidRegex, err)
		}
		lit, _ := raw.LiteralPrefix()
		e.regexes = append(e.regexes, anchored)
		e.literals = append(e.literals, lit)
	}
	return nil
}

func isRegex(p string) bool { return strings.HasPrefix(p, "~") }

func routeName(rt *model.Route) string {
	if rt.Name != nil && *rt.Name != "" {
		return fmt.Sprintf("%q (%s)", *rt.Name, rt.ID)
	}
	return rt.ID
}
