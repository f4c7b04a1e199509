package preflight

import (
	"context"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// CheckChange is Check for next, a configuration that follows base, which
// this compiler accepted, by upserts (every entity created or changed,
// whole) and deletes (by kind, the ids deleted). It compiles only what the
// change touches and what depends on it (see affected), a cost that does
// not grow with the configuration; when that part is refused, or the
// change holds what the rule cannot weigh (a vault), it compiles next
// whole, so that its answer, error included, is always Check(next)'s.
func (c *Checker) CheckChange(ctx context.Context, base, next, upserts *model.Config, deletes map[model.Kind][]string) error {
	part, ok := affected(base, next, upserts, deletes)
	if !ok {
		return c.Check(ctx, next)
	}
	if err := c.Check(ctx, part); err != nil {
		return c.Check(ctx, next)
	}
	return nil
}

// affected returns the part of next whose compile decides whether next
// compiles, given that base compiled and next differs from it by upserts
// and deletes; false when the change holds a kind the rule cannot weigh.
//
// The data plane's compile (proxy.Server.compile, certs.Check) checks each
// entity against the entities it references and nothing else:
//
//   - a target: its upstream exists;
//   - an upstream: it builds with all of its targets;
//   - a service: its protocol and host; its TLS settings with the
//     upstream its host names (host header, client certificate), its
//     client certificate and its CA certificates;
//   - a route: its own fields, with its service, which exists (and is
//     enabled, else the route is left out);
//   - a plugin: its factory, on its own configuration (the factories that
//     read the rest of the configuration, the credential indexes, never
//     fail on it);
//   - a certificate: its key material (a reference by a stand-in);
//   - an SNI: its certificate exists.
//
// Consumers, credentials, key sets and keys are checked by none of them.
// So the checks whose verdict can differ from base's are those of the
// entities changed and of those referencing an entity changed or deleted;
// the part holds them with everything they read.
func affected(base, next, upserts *model.Config, deletes map[model.Kind][]string) (*model.Config, bool) {
	return affectedScanning(linearScans, base, next, upserts, deletes)
}

// affectedScanning is affected with at most scans lookups of references
// by a scan before they are indexed.
func affectedScanning(scans int, base, next, upserts *model.Config, deletes map[model.Kind][]string) (*model.Config, bool) {
	if base == nil || next == nil {
		return nil, false
	}
	if upserts == nil {
		upserts = &model.Config{}
	}
	if len(upserts.Vaults) > 0 || len(deletes[model.KindVault]) > 0 {
		// What a vault changes depends on each data plane's environment.
		return nil, false
	}
	for k := range deletes {
		if !k.Valid() {
			return nil, false
		}
	}
	a := newPart(next, scans)

	// The entities changed, with what they reference.
	for _, m := range upserts.Services {
		a.service(m.ID)
		a.routesOf(m.ID) // enabling a service brings its routes in
	}
	for _, r := range upserts.Routes {
		a.route(r.ID)
	}
	for _, u := range upserts.Upstreams {
		a.upstream(u.ID)
		a.servicesOnHost(u.Name)
		if old := find(base.Upstreams, u.ID); old != nil && old.Name != u.Name {
			a.servicesOnHost(old.Name)
		}
	}
	for _, t := range upserts.Targets {
		a.target(t.ID)
		if old := find(base.Targets, t.ID); old != nil && old.Upstream != nil {
			a.upstream(old.Upstream.ID) // the one it left
		}
	}
	for _, p := range upserts.Plugins {
		a.plugin(p.ID)
	}
	for _, m := range upserts.Certificates {
		a.certificateUsers(m.ID)
	}
	for _, m := range upserts.CACertificates {
		a.caCertificateUsers(m.ID)
	}
	for _, s := range upserts.SNIs {
		a.sni(s.ID)
	}

	// The entities referencing those deleted.
	for _, id := range deletes[model.KindService] {
		a.routesOf(id)
	}
	for _, id := range deletes[model.KindUpstream] {
		a.targetsOf(id)
		if old := find(base.Upstreams, id); old != nil {
			a.servicesOnHost(old.Name)
		}
	}
	for _, id := range deletes[model.KindTarget] {
		if old := find(base.Targets, id); old != nil && old.Upstream != nil {
			a.upstream(old.Upstream.ID)
		}
	}
	for _, id := range deletes[model.KindCertificate] {
		a.certificateUsers(id)
	}
	for _, id := range deletes[model.KindCACertificate] {
		a.caCertificateUsers(id)
	}
	// In next's order, which decides which error is met first.
	a.out.Sort()
	return a.out, true
}

// part collects entities of next, each once.
type part struct {
	next *model.Config
	out  *model.Config
	seen map[key]bool
	// by indexes next's references, built once the part has looked
	// them up linearScans times by a scan of next: a change of one entity
	// costs a few scans and no index, a change of many one index, rather
	// than a scan each.
	by    *references
	scans int
}

// linearScans is how many lookups of references a part makes by a scan
// of next before it indexes them (scans counts them).
const linearScans = 32

// indexed returns next's references indexed, or nil while the part may
// still scan.
func (a *part) indexed() *references {
	if a.by == nil && a.scans < linearScans {
		a.scans++
		return nil
	}
	return a.refs()
}

// references are next's entities by what they reference.
type references struct {
	routesOf          map[string][]*model.Route    // by service id
	targetsOf         map[string][]*model.Target   // by upstream id
	servicesOnHost    map[string][]*model.Service  // by host
	upstreamsNamed    map[string][]*model.Upstream // by name
	snisOf            map[string][]*model.SNI      // by certificate id
	servicesWithCert  map[string][]*model.Service  // by client certificate id
	upstreamsWithCert map[string][]*model.Upstream // by client certificate id
	servicesTrusting  map[string][]*model.Service  // by CA certificate id
}

// refs returns next's references, indexing them the first time.
func (a *part) refs() *references {
	if a.by != nil {
		return a.by
	}
	n := a.next
	r := &references{
		routesOf: map[string][]*model.Route{}, targetsOf: map[string][]*model.Target{},
		servicesOnHost: map[string][]*model.Service{}, upstreamsNamed: map[string][]*model.Upstream{},
		snisOf: map[string][]*model.SNI{}, servicesWithCert: map[string][]*model.Service{},
		upstreamsWithCert: map[string][]*model.Upstream{}, servicesTrusting: map[string][]*model.Service{},
	}
	for _, rt := range n.Routes {
		if rt.Service != nil {
			r.routesOf[rt.Service.ID] = append(r.routesOf[rt.Service.ID], rt)
		}
	}
	for _, t := range n.Targets {
		if t.Upstream != nil {
			r.targetsOf[t.Upstream.ID] = append(r.targetsOf[t.Upstream.ID], t)
		}
	}
	for _, m := range n.Services {
		r.servicesOnHost[m.Host] = append(r.servicesOnHost[m.Host], m)
		if m.ClientCertificate != nil {
			r.servicesWithCert[m.ClientCertificate.ID] = append(r.servicesWithCert[m.ClientCertificate.ID], m)
		}
		for _, id := range slices.Compact(slices.Sorted(slices.Values(m.CACertificates))) {
			r.servicesTrusting[id] = append(r.servicesTrusting[id], m)
		}
	}
	for _, u := range n.Upstreams {
		r.upstreamsNamed[u.Name] = append(r.upstreamsNamed[u.Name], u)
		if u.ClientCertificate != nil {
			r.upstreamsWithCert[u.ClientCertificate.ID] = append(r.upstreamsWithCert[u.ClientCertificate.ID], u)
		}
	}
	for _, sn := range n.SNIs {
		if sn.Certificate != nil {
			r.snisOf[sn.Certificate.ID] = append(r.snisOf[sn.Certificate.ID], sn)
		}
	}
	a.by = r
	return r
}

type key struct {
	kind model.Kind
	id   string
}

func newPart(next *model.Config, scans int) *part {
	return &part{next: next, out: &model.Config{}, seen: map[key]bool{}, scans: linearScans - scans}
}

// add adds e to the part once; false when it was there.
func (a *part) add(e model.Entity) bool {
	k := key{e.Kind(), e.Meta().ID}
	if a.seen[k] {
		return false
	}
	a.seen[k] = true
	a.out.Add(e)
	return true
}

// find returns the entity of list with the given id, nil if none. Lists
// are sorted by id (model.Config.Sort, kept so by delta.Patch), so it
// searches; a list that is not is scanned.
func find[T model.Entity](list []T, id string) T {
	i, ok := slices.BinarySearchFunc(list, id, func(e T, id string) int { return strings.Compare(e.Meta().ID, id) })
	if ok {
		return list[i]
	}
	for _, e := range list {
		if e.Meta().ID == id {
			return e
		}
	}
	var zero T
	return zero
}

func (a *part) service(id string) {
	m := find(a.next.Services, id)
	if m == nil || !a.add(m) {
		return
	}
	// What its TLS settings and its pool are built from.
	for _, u := range a.upstreamsNamed(m.Host) {
		if u.ClientCertificate != nil {
			a.certificate(u.ClientCertificate.ID)
		}
	}
	if m.ClientCertificate != nil {
		a.certificate(m.ClientCertificate.ID)
	}
	for _, id := range m.CACertificates {
		if ca := find(a.next.CACertificates, id); ca != nil {
			a.add(ca)
		}
	}
}

// upstreamsNamed adds the upstreams named host (one at most, names are
// unique), with their targets, and returns them.
func (a *part) upstreamsNamed(host string) []*model.Upstream {
	var out []*model.Upstream
	if r := a.indexed(); r != nil {
		out = r.upstreamsNamed[host]
	} else {
		for _, u := range a.next.Upstreams {
			if u.Name == host {
				out = append(out, u)
			}
		}
	}
	for _, u := range out {
		a.upstream(u.ID)
	}
	return out
}

func (a *part) upstream(id string) {
	u := find(a.next.Upstreams, id)
	if u == nil || !a.add(u) {
		return
	}
	a.targetsOf(id)
}

// targetsOf adds the targets naming the upstream id (each with it).
func (a *part) targetsOf(id string) {
	if r := a.indexed(); r != nil {
		for _, t := range r.targetsOf[id] {
			a.target(t.ID)
		}
		return
	}
	for _, t := range a.next.Targets {
		if t.Upstream != nil && t.Upstream.ID == id {
			a.target(t.ID)
		}
	}
}

func (a *part) target(id string) {
	t := find(a.next.Targets, id)
	if t == nil || !a.add(t) {
		return
	}
	if t.Upstream != nil {
		a.upstream(t.Upstream.ID)
	}
}

// servicesOnHost adds the services whose host is name (an upstream's).
func (a *part) servicesOnHost(name string) {
	if name == "" {
		return
	}
	if r := a.indexed(); r != nil {
		for _, m := range r.servicesOnHost[name] {
			a.service(m.ID)
		}
		return
	}
	for _, m := range a.next.Services {
		if m.Host == name {
			a.service(m.ID)
		}
	}
}

// routesOf adds the routes of the service id.
func (a *part) routesOf(id string) {
	if r := a.indexed(); r != nil {
		for _, rt := range r.routesOf[id] {
			a.route(rt.ID)
		}
		return
	}
	for _, r := range a.next.Routes {
		if r.Service != nil && r.Service.ID == id {
			a.route(r.ID)
		}
	}
}

func (a *part) route(id string) {
	r := find(a.next.Routes, id)
	if r == nil || !a.add(r) {
		return
	}
	if r.Service != nil {
		// Only its existence and enabled flag matter to the route: the
		// service's own checks are the service's.
		if m := find(a.next.Services, r.Service.ID); m != nil {
			a.service(m.ID)
		}
	}
}

func (a *part) plugin(id string) {
	if p := find(a.next.Plugins, id); p != nil {
		a.add(p)
	}
}

func (a *part) certificate(id string) {
	if m := find(a.next.Certificates, id); m != nil {
		a.add(m)
	}
}

func (a *part) sni(id string) {
	s := find(a.next.SNIs, id)
	if s == nil || !a.add(s) {
		return
	}
	if s.Certificate != nil {
		a.certificate(s.Certificate.ID)
	}
}

// certificateUsers adds the certificate id and what uses it: the SNIs
// naming it, the services with it as their client certificate, and those
// on an upstream with it.
func (a *part) certificateUsers(id string) {
	a.certificate(id)
	if r := a.indexed(); r != nil {
		for _, s := range r.snisOf[id] {
			a.sni(s.ID)
		}
		for _, m := range r.servicesWithCert[id] {
			a.service(m.ID)
		}
		for _, u := range r.upstreamsWithCert[id] {
			a.servicesOnHost(u.Name)
		}
		return
	}
	for _, s := range a.next.SNIs {
		if s.Certificate != nil && s.Certificate.ID == id {
			a.sni(s.ID)
		}
	}
	for _, m := range a.next.Services {
		if m.ClientCertificate != nil && m.ClientCertificate.ID == id {
			a.service(m.ID)
		}
	}
	for _, u := range a.next.Upstreams {
		if u.ClientCertificate != nil && u.ClientCertificate.ID == id {
			a.servicesOnHost(u.Name)
		}
	}
}

// caCertificateUsers adds the CA certificate id and the services trusting
// it.
func (a *part) caCertificateUsers(id string) {
	if ca := find(a.next.CACertificates, id); ca != nil {
		a.add(ca)
	}
	if r := a.indexed(); r != nil {
		for _, m := range r.servicesTrusting[id] {
			a.service(m.ID)
		}
		return
	}
	for _, m := range a.next.Services {
		if slices.Contains(m.CACertificates, id) {
			a.service(m.ID)
		}
	}
}
