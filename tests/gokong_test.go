package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kong/go-kong/kong"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
)

// Kong's own Go client (go-kong, which decK, Kong's Ingress Controller and
// the Terraform providers are built on) drives `skyport local` the way
// decK does: it reads GET / and the schemas, writes every entity kind with
// PUT by id under parallelism 10, dumps with tags and size=1000, checks
// that filling defaults from the schemas finds nothing to change (a
// `deck gateway diff` with no drift), re-syncs the dump without changing
// anything, applies a two-entity change, deletes a consumer and resets.
// decK itself is not built here: one of its dependencies is not served
// by the module proxy this project builds from.

const deckTag = "managed-by-deck"

func TestGoKongDeckWorkflow(t *testing.T) {
	t.Parallel()
	// Every write on the emulator is a few HTTP requests made one at a
	// time: the DynamoDB run syncs a smaller configuration.
	for _, tc := range []struct {
		backend string
		size    size
	}{
		{"embedded", size{services: 30, consumers: 10, upstreams: 3}},
		{"dynamodb", size{services: 2, consumers: 2, upstreams: 1}},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			t.Parallel()
			var env, args []string
			if tc.backend == "dynamodb" {
				if testing.Short() {
					t.Skip("-short: the go-kong run on the DynamoDB emulator is long (make test runs it)")
				}
				env = motoserver.Start(t).SerialEnv(t)
				args = []string{"--backend", "aws", "--table", "skyport-gokong", "--cluster-table", "skyport-gokong-cluster",
					"--bucket", "s3://skyport-gokong/cp", "--create"}
			}
			deckWorkflow(t, tc.size, env, args)
		})
	}
}

// size is how many services (two routes each), consumers (one credential
// of each type) and upstreams (three targets each) a run syncs.
type size struct{ services, consumers, upstreams int }

func deckWorkflow(t *testing.T, n size, env, args []string) {
	up := upstream(t, "gokong")
	proxy, status := addr(freePort(t)), addr(freePort(t))
	cp := startLocalCP(t, t.TempDir(), env, append(args, "--dp=true", "--proxy-listen", proxy,
		"--proxy-tls-listen", "", "--status-listen", status)...)
	ctx := context.Background()
	// A request's bound only catches a hang: on the emulator a write
	// waits for the nine before it (decK's parallelism) and each is a
	// few requests to one loaded Python process.
	client, err := kong.NewClient(kong.String("http://"+cp.admin), &http.Client{Timeout: 5 * time.Minute})
	require.NoError(t, err)

	// What every client reads first.
	root, err := client.Root(ctx)
	require.NoError(t, err)
	conf := root["configuration"].(map[string]any)
	require.Equal(t, "postgres", conf["database"], "Kong's clients take the entity CRUD path")
	v, err := kong.ParseSemanticVersion(kong.VersionFromInfo(root))
	require.NoError(t, err)
	require.Equal(t, uint64(3), v.Major())
	require.Equal(t, uint64(9), v.Minor())
	tags, err := client.Tags.Exists(ctx)
	require.NoError(t, err)
	require.True(t, tags, "decK filters by tags only where /tags exists")
	st, err := client.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.Database.Reachable)

	want := desiredState(t, n, up.URL)
	began := time.Now()
	syncState(t, ctx, client, want)
	t.Logf("synced %d entities in %s", want.count(), time.Since(began).Round(time.Millisecond))

	got := dumpState(t, ctx, client)
	requireSameEntities(t, want, got)
	require.Empty(t, drift(t, ctx, client, want, got), "the file with the schemas' defaults is what the Admin API holds")

	// Re-sync what was dumped: every entity is PUT again, nothing changes.
	syncState(t, ctx, client, got)
	again := dumpState(t, ctx, client)
	require.Empty(t, diffStates(got, again), "a re-sync of the dump is idempotent")

	// The data plane serves what was synced.
	eventually(t, 3*time.Minute, "the synced route is served", func() error {
		return served(proxy, "svc-0.example.com", "/svc-0/r0", "gokong")
	})

	// Change one route and one plugin; exactly those two differ.
	changed := again.clone()
	changed.routes[0].Paths = kong.StringSlice("/changed")
	for _, p := range changed.plugins {
		if *p.Name == "rate-limiting" {
			p.Config["minute"] = float64(99)
			break
		}
	}
	syncState(t, ctx, client, changed)
	after := dumpState(t, ctx, client)
	require.ElementsMatch(t, []string{"routes/" + *changed.routes[0].ID, "plugins/" + rateLimiting(changed)},
		diffStates(again, after))
	require.Empty(t, diffStates(changed, after))

	// Removing a consumer removes its credentials and plugins.
	gone := after.consumers[0]
	require.NoError(t, client.Consumers.Delete(ctx, gone.ID))
	final := dumpState(t, ctx, client)
	require.Len(t, final.consumers, len(after.consumers)-1)
	for _, k := range final.keyAuths {
		require.NotEqual(t, *gone.ID, *k.Consumer.ID)
	}
	for _, h := range final.hmacAuths {
		require.NotEqual(t, *gone.ID, *h.Consumer.ID)
	}
	require.Len(t, final.oauth2s, len(after.oauth2s)-1)

	// Reset: everything tagged goes, in reverse dependency order.
	resetState(t, ctx, client, final)
	empty := dumpState(t, ctx, client)
	require.Zero(t, empty.count(), "reset leaves nothing: %v", empty.kinds())
}

// state is a whole configuration as go-kong's types.
type state struct {
	services     []*kong.Service
	routes       []*kong.Route
	consumers    []*kong.Consumer
	keyAuths     []*kong.KeyAuth
	basicAuths   []*kong.BasicAuth
	hmacAuths    []*kong.HMACAuth
	jwts         []*kong.JWTAuth
	acls         []*kong.ACLGroup
	oauth2s      []*kong.Oauth2Credential
	upstreams    []*kong.Upstream
	targets      []*kong.Target
	certificates []*kong.Certificate
	snis         []*kong.SNI
	caCerts      []*kong.CACertificate
	plugins      []*kong.Plugin
	keySets      []*kong.KeySet
	keys         []*kong.Key
	vaults       []*kong.Vault
}

// kinds lists the state by kind name, for diffs and counts.
func (s *state) kinds() map[string]any {
	return map[string]any{
		"services": s.services, "routes": s.routes, "consumers": s.consumers,
		"key-auths": s.keyAuths, "basic-auths": s.basicAuths, "hmac-auths": s.hmacAuths,
		"jwts": s.jwts, "acls": s.acls, "oauth2": s.oauth2s, "upstreams": s.upstreams,
		"targets": s.targets, "certificates": s.certificates, "snis": s.snis,
		"ca_certificates": s.caCerts, "plugins": s.plugins, "key-sets": s.keySets,
		"keys": s.keys, "vaults": s.vaults,
	}
}

func (s *state) count() int {
	n := 0
	for _, list := range s.kinds() {
		n += reflect.ValueOf(list).Len()
	}
	return n
}

// clone deep-copies the state.
func (s *state) clone() *state {
	return &state{
		services: deepCopy(s.services), routes: deepCopy(s.routes), consumers: deepCopy(s.consumers),
		keyAuths: deepCopy(s.keyAuths), basicAuths: deepCopy(s.basicAuths), hmacAuths: deepCopy(s.hmacAuths),
		jwts: deepCopy(s.jwts), acls: deepCopy(s.acls), oauth2s: deepCopy(s.oauth2s),
		upstreams: deepCopy(s.upstreams), targets: deepCopy(s.targets), certificates: deepCopy(s.certificates),
		snis: deepCopy(s.snis), caCerts: deepCopy(s.caCerts), plugins: deepCopy(s.plugins),
		keySets: deepCopy(s.keySets), keys: deepCopy(s.keys), vaults: deepCopy(s.vaults),
	}
}

// deepCopy copies a list of entities through JSON.
func deepCopy[T any](list []T) []T {
	raw, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	var out []T
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

func id() *string { return kong.String(uuid.NewString()) }

func tagged(extra ...string) []*string {
	return kong.StringSlice(append([]string{deckTag}, extra...)...)
}

// desiredState is a realistic kong.yml's worth of entities: services with
// routes, plugins at every scope, consumers with every credential type,
// upstreams with targets and health checks, certificates with SNIs, a CA
// certificate, a key set with keys and a vault, all tagged.
func desiredState(t *testing.T, n size, upstreamURL string) *state {
	s := &state{}
	host, port := hostPort(t, upstreamURL)
	for i := range n.services {
		svc := &kong.Service{ID: id(), Name: kong.String(fmt.Sprintf("svc-%d", i)), Host: kong.String(host),
			Port: kong.Int(port), Protocol: kong.String("http"), Tags: tagged(fmt.Sprintf("team-%d", i%3))}
		s.services = append(s.services, svc)
		for j := range 2 {
			s.routes = append(s.routes, &kong.Route{ID: id(), Name: kong.String(fmt.Sprintf("svc-%d-r%d", i, j)),
				Hosts: kong.StringSlice(fmt.Sprintf("svc-%d.example.com", i)), Paths: kong.StringSlice(fmt.Sprintf("/svc-%d/r%d", i, j)),
				StripPath: kong.Bool(false), Service: &kong.Service{ID: svc.ID}, Tags: tagged()})
		}
	}
	ref := func(c *kong.Consumer) *kong.Consumer { return &kong.Consumer{ID: c.ID} }
	for i := range n.consumers {
		c := &kong.Consumer{ID: id(), Username: kong.String(fmt.Sprintf("user-%d", i)),
			CustomID: kong.String(fmt.Sprintf("cid-%d", i)), Tags: tagged()}
		s.consumers = append(s.consumers, c)
		s.keyAuths = append(s.keyAuths, &kong.KeyAuth{ID: id(), Key: kong.String(fmt.Sprintf("key-%d", i)), Consumer: ref(c), Tags: tagged()})
		s.basicAuths = append(s.basicAuths, &kong.BasicAuth{ID: id(), Username: kong.String(fmt.Sprintf("basic-%d", i)),
			Password: kong.String("pw"), Consumer: ref(c), Tags: tagged()})
		s.hmacAuths = append(s.hmacAuths, &kong.HMACAuth{ID: id(), Username: kong.String(fmt.Sprintf("hmac-%d", i)),
			Secret: kong.String("hmac-secret"), Consumer: ref(c), Tags: tagged()})
		s.jwts = append(s.jwts, &kong.JWTAuth{ID: id(), Key: kong.String(fmt.Sprintf("iss-%d", i)), Secret: kong.String("jwt-secret"),
			Algorithm: kong.String("HS256"), Consumer: ref(c), Tags: tagged()})
		s.acls = append(s.acls, &kong.ACLGroup{ID: id(), Group: kong.String("group-a"), Consumer: ref(c), Tags: tagged()})
		s.oauth2s = append(s.oauth2s, &kong.Oauth2Credential{ID: id(), Name: kong.String("app"),
			ClientID: kong.String(fmt.Sprintf("client-%d", i)), ClientSecret: kong.String("client-secret"),
			RedirectURIs: kong.StringSlice("https://app.example.com/cb"), HashSecret: kong.Bool(false),
			ClientType: kong.String("confidential"), Consumer: ref(c), Tags: tagged()})
	}
	for i := range n.upstreams {
		u := &kong.Upstream{ID: id(), Name: kong.String(fmt.Sprintf("up-%d.internal", i)), Tags: tagged(),
			Healthchecks: &kong.Healthcheck{Active: &kong.ActiveHealthcheck{HTTPPath: kong.String("/health"),
				Healthy: &kong.Healthy{Interval: kong.Int(5), Successes: kong.Int(2)}}}}
		s.upstreams = append(s.upstreams, u)
		for j := range 3 {
			s.targets = append(s.targets, &kong.Target{ID: id(), Target: kong.String(fmt.Sprintf("10.0.%d.%d:80", i, j)),
				Weight: kong.Int(100 - j), Upstream: &kong.Upstream{ID: u.ID}, Tags: tagged()})
		}
	}
	for i := range 2 {
		name := fmt.Sprintf("tls-%d.example.com", i)
		cert, key := selfSigned(t, name, int64(i+1))
		c := &kong.Certificate{ID: id(), Cert: kong.String(cert), Key: kong.String(key), Tags: tagged()}
		s.certificates = append(s.certificates, c)
		s.snis = append(s.snis, &kong.SNI{ID: id(), Name: kong.String(name), Certificate: &kong.Certificate{ID: c.ID}, Tags: tagged()})
	}
	ca, _ := selfSigned(t, "ca.example.com", 9)
	s.caCerts = append(s.caCerts, &kong.CACertificate{ID: id(), Cert: kong.String(ca), Tags: tagged()})
	s.plugins = append(s.plugins,
		&kong.Plugin{ID: id(), Name: kong.String("correlation-id"), Tags: tagged()},
		&kong.Plugin{ID: id(), Name: kong.String("rate-limiting"), Config: kong.Configuration{"minute": float64(10)},
			Service: &kong.Service{ID: s.services[0].ID}, Tags: tagged()},
		&kong.Plugin{ID: id(), Name: kong.String("cors"), InstanceName: kong.String("route-cors"),
			Route: &kong.Route{ID: s.routes[1].ID}, Tags: tagged()},
		&kong.Plugin{ID: id(), Name: kong.String("request-termination"), Config: kong.Configuration{"status_code": float64(403)},
			Consumer: &kong.Consumer{ID: s.consumers[1].ID}, Tags: tagged()},
		&kong.Plugin{ID: id(), Name: kong.String("key-auth"), Service: &kong.Service{ID: s.services[1].ID}, Tags: tagged()},
	)
	ks := &kong.KeySet{ID: id(), Name: kong.String("signing"), Tags: tagged()}
	s.keySets = append(s.keySets, ks)
	for i := range 2 {
		kid := fmt.Sprintf("kid-%d", i)
		s.keys = append(s.keys, &kong.Key{ID: id(), Name: kong.String("key-" + kid), KID: kong.String(kid),
			JWK: kong.String(`{"kty":"oct","kid":"` + kid + `","k":"c2VjcmV0"}`), Set: &kong.KeySet{ID: ks.ID}, Tags: tagged()})
	}
	s.vaults = append(s.vaults, &kong.Vault{ID: id(), Name: kong.String("env"), Prefix: kong.String("my-env"),
		Config: kong.Configuration{"prefix": "SKYPORT_"}, Tags: tagged()})
	return s
}

func hostPort(t *testing.T, rawURL string) (string, int) {
	var port int
	hp := strings.TrimPrefix(rawURL, "http://")
	i := strings.LastIndex(hp, ":")
	_, err := fmt.Sscanf(hp[i+1:], "%d", &port)
	require.NoError(t, err)
	return hp[:i], port
}

// parallel runs the jobs with 10 workers, as decK does, and fails on the
// first error.
func parallel(t *testing.T, jobs []func() error) {
	t.Helper()
	work := make(chan func() error)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				errs <- j()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// job wraps one go-kong call.
func job[T any](what string, fn func() (T, error)) func() error {
	return func() error {
		if _, err := fn(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// syncState writes every entity with PUT by id, referenced kinds first.
func syncState(t *testing.T, ctx context.Context, c *kong.Client, s *state) {
	t.Helper()
	var first, second, third []func() error
	for _, e := range s.services {
		first = append(first, job("service", func() (any, error) { return c.Services.Create(ctx, e) }))
	}
	for _, e := range s.consumers {
		first = append(first, job("consumer", func() (any, error) { return c.Consumers.Create(ctx, e) }))
	}
	for _, e := range s.upstreams {
		first = append(first, job("upstream", func() (any, error) { return c.Upstreams.Create(ctx, e) }))
	}
	for _, e := range s.certificates {
		first = append(first, job("certificate", func() (any, error) { return c.Certificates.Create(ctx, e) }))
	}
	for _, e := range s.caCerts {
		first = append(first, job("ca_certificate", func() (any, error) { return c.CACertificates.Create(ctx, e) }))
	}
	for _, e := range s.keySets {
		first = append(first, job("key-set", func() (any, error) { return c.KeySets.Create(ctx, e) }))
	}
	for _, e := range s.vaults {
		first = append(first, job("vault", func() (any, error) { return c.Vaults.Create(ctx, e) }))
	}
	for _, e := range s.routes {
		second = append(second, job("route", func() (any, error) { return c.Routes.Create(ctx, e) }))
	}
	for _, e := range s.keyAuths {
		second = append(second, job("key-auth", func() (any, error) { return c.KeyAuths.Create(ctx, e.Consumer.ID, e) }))
	}
	for _, e := range s.basicAuths {
		second = append(second, job("basic-auth", func() (any, error) { return c.BasicAuths.Create(ctx, e.Consumer.ID, e) }))
	}
	for _, e := range s.hmacAuths {
		second = append(second, job("hmac-auth", func() (any, error) { return c.HMACAuths.Create(ctx, e.Consumer.ID, e) }))
	}
	for _, e := range s.jwts {
		second = append(second, job("jwt", func() (any, error) { return c.JWTAuths.Create(ctx, e.Consumer.ID, e) }))
	}
	for _, e := range s.acls {
		second = append(second, job("acl", func() (any, error) { return c.ACLs.Create(ctx, e.Consumer.ID, e) }))
	}
	for _, e := range s.oauth2s {
		second = append(second, job("oauth2", func() (any, error) { return c.Oauth2Credentials.Create(ctx, e.Consumer.ID, e) }))
	}
	for _, e := range s.targets {
		second = append(second, job("target", func() (any, error) { return c.Targets.Create(ctx, e.Upstream.ID, e) }))
	}
	for _, e := range s.snis {
		second = append(second, job("sni", func() (any, error) { return c.SNIs.Create(ctx, e) }))
	}
	for _, e := range s.keys {
		second = append(second, job("key", func() (any, error) { return c.Keys.Create(ctx, e) }))
	}
	for _, e := range s.plugins {
		third = append(third, job("plugin", func() (any, error) { return c.Plugins.Create(ctx, e) }))
	}
	for _, level := range [][]func() error{first, second, third} {
		parallel(t, level)
	}
}

// listAll pages through a list with size=1000 and the managed tag, as
// decK's dump does.
func listAll[T any](t *testing.T, list func(*kong.ListOpt) ([]T, *kong.ListOpt, error)) []T {
	t.Helper()
	var out []T
	opt := &kong.ListOpt{Size: 1000, Tags: kong.StringSlice(deckTag)}
	for opt != nil {
		page, next, err := list(opt)
		require.NoError(t, err)
		out = append(out, page...)
		opt = next
	}
	return out
}

// dumpState reads every tagged entity back.
func dumpState(t *testing.T, ctx context.Context, c *kong.Client) *state {
	t.Helper()
	s := &state{
		services: listAll(t, func(o *kong.ListOpt) ([]*kong.Service, *kong.ListOpt, error) { return c.Services.List(ctx, o) }),
		routes:   listAll(t, func(o *kong.ListOpt) ([]*kong.Route, *kong.ListOpt, error) { return c.Routes.List(ctx, o) }),
		consumers: listAll(t, func(o *kong.ListOpt) ([]*kong.Consumer, *kong.ListOpt, error) {
			return c.Consumers.List(ctx, o)
		}),
		keyAuths: listAll(t, func(o *kong.ListOpt) ([]*kong.KeyAuth, *kong.ListOpt, error) { return c.KeyAuths.List(ctx, o) }),
		basicAuths: listAll(t, func(o *kong.ListOpt) ([]*kong.BasicAuth, *kong.ListOpt, error) {
			return c.BasicAuths.List(ctx, o)
		}),
		hmacAuths: listAll(t, func(o *kong.ListOpt) ([]*kong.HMACAuth, *kong.ListOpt, error) { return c.HMACAuths.List(ctx, o) }),
		jwts:      listAll(t, func(o *kong.ListOpt) ([]*kong.JWTAuth, *kong.ListOpt, error) { return c.JWTAuths.List(ctx, o) }),
		acls:      listAll(t, func(o *kong.ListOpt) ([]*kong.ACLGroup, *kong.ListOpt, error) { return c.ACLs.List(ctx, o) }),
		oauth2s: listAll(t, func(o *kong.ListOpt) ([]*kong.Oauth2Credential, *kong.ListOpt, error) {
			return c.Oauth2Credentials.List(ctx, o)
		}),
		upstreams: listAll(t, func(o *kong.ListOpt) ([]*kong.Upstream, *kong.ListOpt, error) { return c.Upstreams.List(ctx, o) }),
		certificates: listAll(t, func(o *kong.ListOpt) ([]*kong.Certificate, *kong.ListOpt, error) {
			return c.Certificates.List(ctx, o)
		}),
		snis: listAll(t, func(o *kong.ListOpt) ([]*kong.SNI, *kong.ListOpt, error) { return c.SNIs.List(ctx, o) }),
		caCerts: listAll(t, func(o *kong.ListOpt) ([]*kong.CACertificate, *kong.ListOpt, error) {
			return c.CACertificates.List(ctx, o)
		}),
		plugins: listAll(t, func(o *kong.ListOpt) ([]*kong.Plugin, *kong.ListOpt, error) { return c.Plugins.List(ctx, o) }),
		keySets: listAll(t, func(o *kong.ListOpt) ([]*kong.KeySet, *kong.ListOpt, error) { return c.KeySets.List(ctx, o) }),
		keys:    listAll(t, func(o *kong.ListOpt) ([]*kong.Key, *kong.ListOpt, error) { return c.Keys.List(ctx, o) }),
		vaults:  listAll(t, func(o *kong.ListOpt) ([]*kong.Vault, *kong.ListOpt, error) { return c.Vaults.List(ctx, o) }),
	}
	for _, u := range s.upstreams {
		s.targets = append(s.targets, listAll(t, func(o *kong.ListOpt) ([]*kong.Target, *kong.ListOpt, error) {
			return c.Targets.List(ctx, u.ID, o)
		})...)
	}
	return s
}

// comparable is an entity as decK compares it: its JSON without the
// timestamps, which decK ignores.
func comparable(e any) map[string]any {
	raw, _ := json.Marshal(e)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	delete(m, "created_at")
	delete(m, "updated_at")
	return m
}

// byID indexes a list of entities by id.
func byID(list any) map[string]map[string]any {
	out := map[string]map[string]any{}
	v := reflect.ValueOf(list)
	for i := range v.Len() {
		m := comparable(v.Index(i).Interface())
		out[m["id"].(string)] = m
	}
	return out
}

// diffStates lists "kind/id" of every entity that differs, appeared or
// disappeared between a and b.
func diffStates(a, b *state) []string {
	var out []string
	bk := b.kinds()
	for kind, list := range a.kinds() {
		am, bm := byID(list), byID(bk[kind])
		for id, e := range am {
			if !reflect.DeepEqual(e, bm[id]) {
				out = append(out, kind+"/"+id)
			}
		}
		for id := range bm {
			if _, ok := am[id]; !ok {
				out = append(out, kind+"/"+id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// requireSameEntities checks that every field the desired state set came
// back as sent (secrets a client sends in the clear come back hashed).
func requireSameEntities(t *testing.T, want, got *state) {
	t.Helper()
	gk := got.kinds()
	for kind, list := range want.kinds() {
		wm, gm := byID(list), byID(gk[kind])
		require.Len(t, gm, len(wm), kind)
		for id, w := range wm {
			g, ok := gm[id]
			require.True(t, ok, "%s/%s was not dumped", kind, id)
			if kind == "basic-auths" {
				delete(w, "password")
			}
			requireSubset(t, w, g, kind+"/"+id)
		}
	}
}

// requireSubset checks that every value set in want is in got, records
// compared field by field (the server fills in the rest).
func requireSubset(t *testing.T, want, got any, path string) {
	t.Helper()
	wm, ok := want.(map[string]any)
	if !ok {
		require.Equal(t, want, got, path)
		return
	}
	gm, ok := got.(map[string]any)
	require.True(t, ok, "%s: got %v", path, got)
	for k, v := range wm {
		requireSubset(t, v, gm[k], path+"."+k)
	}
}

// drift is `deck gateway diff`: it fills defaults from the schemas into a
// copy of every desired service, route, upstream, target and plugin, as
// decK does with a file's entities, and lists those that then differ from
// what the Admin API holds.
func drift(t *testing.T, ctx context.Context, c *kong.Client, want, got *state) []string {
	t.Helper()
	schemas := map[string]kong.Schema{}
	schema := func(name string) kong.Schema {
		if sc, ok := schemas[name]; ok {
			return sc
		}
		sc, err := c.Schemas.Get(ctx, name)
		require.NoError(t, err, name)
		schemas[name] = sc
		return sc
	}
	var out []string
	check := func(kind string, desired any, current map[string]map[string]any, fill func(copy any) error) {
		cp := reflect.New(reflect.TypeOf(desired).Elem())
		raw, _ := json.Marshal(desired)
		require.NoError(t, json.Unmarshal(raw, cp.Interface()))
		require.NoError(t, fill(cp.Interface()), kind)
		filled := comparable(cp.Interface())
		if cur := current[filled["id"].(string)]; !reflect.DeepEqual(filled, cur) {
			out = append(out, fmt.Sprintf("%s/%v:\n file+defaults %v\n admin api     %v", kind, filled["id"], filled, cur))
		}
	}
	gk := got.kinds()
	for kind, list := range map[string]any{"services": want.services, "routes": want.routes, "upstreams": want.upstreams, "targets": want.targets} {
		sc, current := schema(kind), byID(gk[kind])
		v := reflect.ValueOf(list)
		for i := range v.Len() {
			check(kind, v.Index(i).Interface(), current, func(cp any) error { return kong.FillEntityDefaults(cp, sc) })
		}
	}
	current := byID(got.plugins)
	for _, p := range want.plugins {
		sc, err := c.Plugins.GetFullSchema(ctx, p.Name)
		require.NoError(t, err)
		check("plugins", p, current, func(cp any) error { return kong.FillPluginsDefaults(cp.(*kong.Plugin), sc) })
	}
	return out
}

func rateLimiting(s *state) string {
	for _, p := range s.plugins {
		if *p.Name == "rate-limiting" {
			return *p.ID
		}
	}
	return ""
}

// resetState deletes every entity, referencing kinds first, with
// parallelism 10, as `deck gateway reset` does.
func resetState(t *testing.T, ctx context.Context, c *kong.Client, s *state) {
	t.Helper()
	del := func(what string, fn func() error) func() error {
		return func() error {
			if err := fn(); err != nil {
				return fmt.Errorf("deleting %s: %w", what, err)
			}
			return nil
		}
	}
	var first, second, third []func() error
	for _, e := range s.plugins {
		first = append(first, del("plugin", func() error { return c.Plugins.Delete(ctx, e.ID) }))
	}
	for _, e := range s.keyAuths {
		second = append(second, del("key-auth", func() error { return c.KeyAuths.Delete(ctx, e.Consumer.ID, e.ID) }))
	}
	for _, e := range s.basicAuths {
		second = append(second, del("basic-auth", func() error { return c.BasicAuths.Delete(ctx, e.Consumer.ID, e.ID) }))
	}
	for _, e := range s.hmacAuths {
		second = append(second, del("hmac-auth", func() error { return c.HMACAuths.Delete(ctx, e.Consumer.ID, e.ID) }))
	}
	for _, e := range s.jwts {
		second = append(second, del("jwt", func() error { return c.JWTAuths.Delete(ctx, e.Consumer.ID, e.ID) }))
	}
	for _, e := range s.acls {
		second = append(second, del("acl", func() error { return c.ACLs.Delete(ctx, e.Consumer.ID, e.ID) }))
	}
	for _, e := range s.oauth2s {
		second = append(second, del("oauth2", func() error { return c.Oauth2Credentials.Delete(ctx, e.Consumer.ID, e.ID) }))
	}
	for _, e := range s.routes {
		second = append(second, del("route", func() error { return c.Routes.Delete(ctx, e.ID) }))
	}
	for _, e := range s.targets {
		second = append(second, del("target", func() error { return c.Targets.Delete(ctx, e.Upstream.ID, e.ID) }))
	}
	for _, e := range s.snis {
		second = append(second, del("sni", func() error { return c.SNIs.Delete(ctx, e.ID) }))
	}
	for _, e := range s.keys {
		second = append(second, del("key", func() error { return c.Keys.Delete(ctx, e.ID) }))
	}
	for _, e := range s.services {
		third = append(third, del("service", func() error { return c.Services.Delete(ctx, e.ID) }))
	}
	for _, e := range s.consumers {
		third = append(third, del("consumer", func() error { return c.Consumers.Delete(ctx, e.ID) }))
	}
	for _, e := range s.upstreams {
		third = append(third, del("upstream", func() error { return c.Upstreams.Delete(ctx, e.ID) }))
	}
	for _, e := range s.certificates {
		third = append(third, del("certificate", func() error { return c.Certificates.Delete(ctx, e.ID) }))
	}
	for _, e := range s.caCerts {
		third = append(third, del("ca_certificate", func() error { return c.CACertificates.Delete(ctx, e.ID) }))
	}
	for _, e := range s.keySets {
		third = append(third, del("key-set", func() error { return c.KeySets.Delete(ctx, e.ID) }))
	}
	for _, e := range s.vaults {
		third = append(third, del("vault", func() error { return c.Vaults.Delete(ctx, e.ID) }))
	}
	for _, level := range [][]func() error{first, second, third} {
		parallel(t, level)
	}
}
