package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	snap "github.com/skyport-gw/skyport/internal/snapshot"
)

// TestIncrementalMatchesFull: a proxy fed delta results (which share the
// entities and lists a change leaves alone, so the proxy keeps the
// router's untouched buckets, the services and the credential indexes it
// can) routes and authenticates every request as a
// proxy given the same configuration whole (every entity new, everything
// compiled), over random chains of route, consumer, credential and group
// changes.
func TestIncrementalMatchesFull(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	for seed := range uint64(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			g := &gen{rng: rand.New(rand.NewPCG(seed, 15)), host: host, port: port}
			cur := g.initial(t)
			digest, err := snap.DigestOf(cur)
			require.NoError(t, err)
			inc, full := newProxy(t), newProxy(t)
			ctx := context.Background()
			require.NoError(t, inc.ApplyHashed(ctx, cur, digest.Hash(), 1, "test"))
			for rev := int64(2); rev <= 12; rev++ {
				target := g.change(cur)
				doc, err := delta.Diff(snap.Identity{}, rev-1, cur, rev, target)
				require.NoError(t, err)
				next, nextDigest, err := delta.ApplyDigest(cur, digest, rev-1, doc)
				require.NoError(t, err)
				require.NoError(t, inc.ApplyHashed(ctx, next, nextDigest.Hash(), rev, "delta"))
				require.NoError(t, full.Apply(ctx, fresh(t, target), rev, "snapshot"))
				_, hi := inc.Current()
				_, hf := full.Current()
				require.Equal(t, hf, hi, "revision %d", rev)
				g.compare(t, inc, full, rev)
				cur, digest = next, nextDigest
			}
		})
	}
}

func newProxy(t *testing.T) *proxy.Server {
	px := proxy.New(proxy.Options{Registry: plugins.Registry()})
	t.Cleanup(px.Close)
	return px
}

// fresh is cfg decoded from its JSON: no entity or list shared.
func fresh(t *testing.T, cfg *model.Config) *model.Config {
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	var out model.Config
	require.NoError(t, json.Unmarshal(raw, &out))
	return &out
}

// gen makes configurations of a few services, routes, consumers with
// key-auth keys and acl groups, a global key-auth plugin and an acl
// plugin on one route, and random changes to them.
type gen struct {
	rng  *rand.Rand
	host string
	port int
	n    int
	// paths and keys are every route path and key ever made, the
	// requests compared.
	paths, keys []string
}

func (g *gen) id(prefix string) string {
	g.n++
	return fmt.Sprintf("%s000000-0000-4000-9000-%012d", prefix, g.n)
}

func (g *gen) initial(t *testing.T) *model.Config {
	cfg := &model.Config{}
	for range 3 {
		s := model.NewService()
		s.ID, s.Host, s.Port = g.id("5"), g.host, g.port
		cfg.Services = append(cfg.Services, s)
	}
	for range 6 {
		cfg.Routes = append(cfg.Routes, g.route(cfg))
	}
	for range 6 {
		g.consumer(cfg)
	}
	acl := plugintest.Plugin(t, g.id("a"), "acl", map[string]any{"allow": []any{"gold"}})
	acl.Route = &model.Ref{ID: cfg.Routes[0].ID}
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, g.id("b"), "key-auth", nil), acl}
	cfg.Sort()
	return cfg
}

func (g *gen) route(cfg *model.Config) *model.Route {
	r := model.NewRoute()
	r.ID = g.id("7")
	r.Paths = []string{g.path()}
	r.Service = &model.Ref{ID: cfg.Services[g.rng.IntN(len(cfg.Services))].ID}
	return r
}

func (g *gen) path() string {
	p := fmt.Sprintf("/p%d", g.rng.IntN(20))
	g.paths = append(g.paths, p)
	return p
}

func (g *gen) key() string {
	k := fmt.Sprintf("key-%d", g.rng.IntN(1000))
	g.keys = append(g.keys, k)
	return k
}

// consumer adds a consumer with a key and, one time in two, the group.
func (g *gen) consumer(cfg *model.Config) {
	c := &model.Consumer{Base: model.Base{ID: g.id("c")}, Username: new(fmt.Sprintf("user-%d", g.n))}
	cfg.Consumers = append(cfg.Consumers, c)
	cfg.KeyAuths = append(cfg.KeyAuths, &model.KeyAuth{Base: model.Base{ID: g.id("d")}, Key: g.key(), Consumer: &model.Ref{ID: c.ID}})
	if g.rng.IntN(2) == 0 {
		cfg.ACLs = append(cfg.ACLs, &model.ACL{Base: model.Base{ID: g.id("e")}, Group: "gold", Consumer: &model.Ref{ID: c.ID}})
	}
}

// change returns cfg with one to three random changes, as the Admin API
// makes them: changed entities are new values, the rest shared.
func (g *gen) change(cfg *model.Config) *model.Config {
	out := cfg.Clone()
	for range 1 + g.rng.IntN(3) {
		switch g.rng.IntN(8) {
		case 0: // a route's paths
			i := g.rng.IntN(len(out.Routes))
			r := *out.Routes[i]
			r.Paths = []string{g.path()}
			out.Routes[i] = &r
		case 1:
			out.Routes = append(out.Routes, g.route(out))
		case 2:
			if len(out.Routes) > 2 {
				i := 1 + g.rng.IntN(len(out.Routes)-1) // the acl plugin's route stays
				out.Routes = slices.Delete(out.Routes, i, i+1)
			}
		case 3: // a key changed
			i := g.rng.IntN(len(out.KeyAuths))
			k := *out.KeyAuths[i]
			k.Key = g.key()
			out.KeyAuths[i] = &k
		case 4:
			g.consumer(out)
		case 5: // a consumer renamed
			i := g.rng.IntN(len(out.Consumers))
			c := *out.Consumers[i]
			c.Username = new(fmt.Sprintf("renamed-%d", g.rng.IntN(1000)))
			out.Consumers[i] = &c
		case 7: // a service's path
			i := g.rng.IntN(len(out.Services))
			sv := *out.Services[i]
			sv.Path = new(fmt.Sprintf("/base%d", g.rng.IntN(100)))
			out.Services[i] = &sv
		case 6: // a group taken away
			if len(out.ACLs) > 0 {
				i := g.rng.IntN(len(out.ACLs))
				out.ACLs = slices.Delete(out.ACLs, i, i+1)
			}
		}
	}
	out.Sort()
	return out
}

// compare sends every path with every key (and none, and a wrong one) to
// both proxies and requires the same answer: status, the consumer
// identified and the upstream URI.
func (g *gen) compare(t *testing.T, inc, full http.Handler, rev int64) {
	keys := append(slices.Compact(slices.Sorted(slices.Values(g.keys))), "", "wrong")
	paths := append(slices.Compact(slices.Sorted(slices.Values(g.paths))), "/none")
	for _, p := range paths {
		for _, k := range keys {
			a, b := answer(inc, p, k), answer(full, p, k)
			require.Equal(t, b, a, "revision %d: %s with key %q", rev, p, k)
		}
	}
}

// answer is what h answers path with key: status, consumer, upstream URI.
func answer(h http.Handler, path, key string) string {
	req := httptest.NewRequest(http.MethodGet, "http://gw.local"+path, nil)
	if key != "" {
		req.Header.Set("apikey", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body struct {
		Headers http.Header `json:"headers"`
		URI     string      `json:"uri"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return fmt.Sprintf("%d %s %s", rec.Code, body.Headers.Get("X-Consumer-Username"), body.URI)
}
