package router

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

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
// Entries are immutable once compiled: routers that follow one another
// (Update) share them.
type entry struct {
	priority uint64
	id       matcherID
	// prefixLen is the length of the group's prefix paths as configured
	// (groupPaths files prefixes by it), prefixed whether the group has
	// any: the group's prefixes are the route's prefix paths of that
	// length (prefixList), its hosts the route's (hostList), read again
	// when the entry is filed rather than kept with it (48 bytes and two
	// allocations an entry). Next to id, they fill its last word.
	prefixed  bool
	prefixLen int32
	route     *model.Route
	service   *model.Service
	// more holds the matching fields most routes leave empty, nil when
	// all are: an entry of a route with hosts and prefix paths only, of
	// which a big configuration has a hundred thousand, is 56 bytes.
	more *fields
}

// fields are an entry's less common matching fields.
type fields struct {
	methods  []string // upper case; empty matches any
	snis     []sniKey
	headers  []headerMatcher
	regexes  []*regexp.Regexp // anchored at the start
	literals []string         // literal prefix of each regex, "" if none
}

// setMore files f on e when it holds anything.
func (e *entry) setMore(f fields) {
	if len(f.methods)+len(f.snis)+len(f.headers)+len(f.regexes) > 0 {
		e.more = &f
	}
}

// prefixList yields e's prefix paths, normalized, in the route's order.
func (e *entry) prefixList(yield func(string) bool) {
	if !e.prefixed {
		return
	}
	for _, p := range e.route.Paths {
		if !isRegex(p) && len(p) == int(e.prefixLen) && !yield(Normalize(p)) {
			return
		}
	}
}

// hostList yields the keys of e's hosts, in the route's order; none for
// a route without hosts.
func (e *entry) hostList(yield func(hostKey) bool) {
	for _, h := range e.route.Hosts {
		if !yield(parseHostKey(h)) {
			return
		}
	}
}

// regexes and literals are e's regex paths and their literal prefixes
// (nil when it has none).
func (e *entry) regexes() []*regexp.Regexp {
	if e.more == nil {
		return nil
	}
	return e.more.regexes
}

func (e *entry) literals() []string {
	if e.more == nil {
		return nil
	}
	return e.more.literals
}

// compile turns routes into entries sorted best first.
func compile(routes []*model.Route, services []*model.Service) ([]*entry, error) {
	byID := servicesByID(services)
	var entries []*entry
	var s slab[entry]
	for _, rt := range routes {
		es, err := compileWith(rt, byID, &s)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	slices.SortStableFunc(entries, order)
	return entries, nil
}

// order sorts entries best first: atc-router tries matchers by
// (priority, id), both descending (src/router.rs); created_at plays no
// part.
func order(a, b *entry) int {
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	return compareIDs(b, a)
}

// outranks reports whether e is tried before f.
func (e *entry) outranks(f *entry) bool { return order(e, f) < 0 }

func servicesByID(services []*model.Service) map[string]*model.Service {
	byID := make(map[string]*model.Service, len(services))
	for _, s := range services {
		byID[s.ID] = s
	}
	return byID
}

// compileWith compiles rt with its service from byID (its entries from
// s); none when the service is disabled, as Kong leaves such routes out.
func compileWith(rt *model.Route, byID map[string]*model.Service, s *slab[entry]) ([]*entry, error) {
	var svc *model.Service
	if rt.Service != nil && rt.Service.ID != "" {
		svc = byID[rt.Service.ID]
		if svc == nil {
			return nil, fmt.Errorf("compiling route %s: service %s: %w", routeName(rt), rt.Service.ID, ErrUnknownService)
		}
		if !svc.Enabled {
			return nil, nil
		}
	}
	es, err := compileRoute(rt, svc, s)
	if err != nil {
		return nil, fmt.Errorf("compiling route %s: %w", routeName(rt), err)
	}
	return es, nil
}

// compileRoute builds the route's entries, one per path group, from s.
func compileRoute(rt *model.Route, svc *model.Service, s *slab[entry]) ([]*entry, error) {
	base := entry{route: rt, service: svc}
	var more fields
	for _, m := range rt.Methods {
		more.methods = append(more.methods, strings.ToUpper(m))
	}
	for _, s := range rt.SNIs {
		more.snis = append(more.snis, parseSNIKey(s))
	}
	var err error
	if more.headers, err = compileHeaders(rt.Headers); err != nil {
		return nil, err
	}
	base.id = newMatcherID(rt.ID)
	if len(rt.Paths) == 0 {
		e := base
		e.setMore(more)
		e.priority = priority(&e)
		return []*entry{s.put(e)}, nil
	}
	groups := groupPaths(rt.Paths)
	var out []*entry
	for i, g := range groups {
		e, f := base, more
		if len(groups) > 1 {
			e.id = groupID(rt.ID, i)
		}
		if err := e.setPaths(g, &f); err != nil {
			return nil, err
		}
		e.setMore(f)
		e.priority = priority(&e)
		out = append(out, s.put(e))
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

// setPaths compiles one path group: its prefixes onto e, its regexes
// onto f.
func (e *entry) setPaths(paths []string, f *fields) error {
	for _, p := range paths {
		if !isRegex(p) {
			e.prefixed, e.prefixLen = true, int32(len(p))
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
		f.regexes = append(f.regexes, anchored)
		f.literals = append(f.literals, lit)
	}
	return nil
}

// splitNamespace is the UUID namespace kong/router/transform.lua derives
// the ids of a split route's path groups from.
var splitNamespace = uuid.MustParse("7f145bf9-0dce-4f91-98eb-debbce4b9f6b")

// matcherID is the id atc-router breaks priority ties with (the higher
// wins): a UUID, compared as its 16 bytes. An id that is not a UUID (Kong's
// always are) compares as a string, above every UUID: it is the route's
// id (a path group's is always a UUID), which compareIDs reads.
type matcherID struct {
	uuid  uuid.UUID
	valid bool
}

func newMatcherID(id string) matcherID {
	u, err := uuid.Parse(id)
	return matcherID{uuid: u, valid: err == nil}
}

// groupID is the id Kong gives path group i (from 0) of a route it splits:
// the v5 UUID of "<route id>#<i+1>" (split_routes_and_services_by_path).
func groupID(routeID string, i int) matcherID {
	u := uuid.NewSHA1(splitNamespace, []byte(routeID+"#"+strconv.Itoa(i+1)))
	return matcherID{uuid: u, valid: true}
}

// compareIDs orders a's and b's matcher ids; an id that is not a UUID is
// the entry's route's, read only then.
func compareIDs(a, b *entry) int {
	switch {
	case a.id.valid && b.id.valid:
		return bytes.Compare(a.id.uuid[:], b.id.uuid[:])
	case a.id.valid != b.id.valid:
		if a.id.valid {
			return -1
		}
		return 1
	}
	return strings.Compare(a.route.ID, b.route.ID)
}

func isRegex(p string) bool { return strings.HasPrefix(p, "~") }

func routeName(rt *model.Route) string {
	if rt.Name != nil && *rt.Name != "" {
		return fmt.Sprintf("%q (%s)", *rt.Name, rt.ID)
	}
	return rt.ID
}
