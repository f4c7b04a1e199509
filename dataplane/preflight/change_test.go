package preflight

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// TestCheckChangeAgreesWithCheck is the differential test of the
// incremental rule: random writes (good and bad) against a configuration
// of every kind the compile checks; for each, the compile of the part
// affected picks must refuse exactly when the compile of the whole
// configuration does, and CheckChange must answer as Check. An accepted
// write becomes the next base, as in the publisher.
func TestCheckChangeAgreesWithCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := New()
	pair := newPair(t)
	for seed := range uint64(4) {
		w := &writer{rng: mrand.New(mrand.NewPCG(seed, 7)), pair: pair}
		base := w.base()
		require.NoError(t, c.Check(ctx, base), "the base compiles")
		refused := 0
		for step := range 300 {
			next, upserts, deletes := w.write(base)
			full := c.Check(ctx, next)
			part, ok := affected(base, next, upserts, deletes)
			require.True(t, ok)
			// Indexing the references from the first lookup picks the
			// same part as scanning for them.
			indexed, ok := affectedScanning(0, base, next, upserts, deletes)
			require.True(t, ok)
			require.Equal(t, part, indexed, "seed %d step %d: %s", seed, step, w.last)
			inc := c.Check(ctx, part)
			desc := fmt.Sprintf("seed %d step %d: %s (full: %v; part: %v)", seed, step, w.last, full, inc)
			require.Equal(t, full != nil, inc != nil, desc)
			got := c.CheckChange(ctx, base, next, upserts, deletes)
			if full == nil {
				require.NoError(t, got, desc)
				base = next
				continue
			}
			refused++
			require.EqualError(t, got, full.Error(), desc)
		}
		require.Greater(t, refused, 20, "the writes include bad ones")
		require.Less(t, refused, 250, "the writes include good ones")
	}
}

// TestCheckChangeVault: a vault change is compiled whole.
func TestCheckChangeVault(t *testing.T) {
	t.Parallel()
	_, ok := affected(&model.Config{}, &model.Config{}, &model.Config{Vaults: []*model.Vault{model.NewVault()}}, nil)
	require.False(t, ok)
	_, ok = affected(&model.Config{}, &model.Config{}, nil, map[model.Kind][]string{model.KindVault: {"x"}})
	require.False(t, ok)
	part, ok := affected(&model.Config{}, &model.Config{}, nil, map[model.Kind][]string{model.KindConsumer: {"x"}})
	require.True(t, ok)
	require.True(t, part.Empty())
}

// TestCheckChangeCredential: a credential write compiles nothing, not
// even the key-auth plugin over every credential.
func TestCheckChangeCredential(t *testing.T) {
	t.Parallel()
	w := &writer{rng: mrand.New(mrand.NewPCG(1, 2)), pair: newPair(t)}
	base := w.base()
	next := *base
	k := &model.KeyAuth{Base: model.Base{ID: w.id()}, Key: "k-new", Consumer: &model.Ref{ID: base.Consumers[0].ID}}
	next.KeyAuths = append(slices.Clone(base.KeyAuths), k)
	part, ok := affected(base, &next, &model.Config{KeyAuths: []*model.KeyAuth{k}}, nil)
	require.True(t, ok)
	require.True(t, part.Empty())
}

type pemPair struct{ cert, key string }

func newPair(t *testing.T) pemPair {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).AddDate(100, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pemPair{cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))}
}

// writer makes configurations and random writes to them.
type writer struct {
	rng  *mrand.Rand
	pair pemPair
	n    int
	last string
}

func (w *writer) id() string {
	w.n++
	return fmt.Sprintf("%08x-0000-4000-a000-%012d", w.rng.Uint32(), w.n)
}

func (w *writer) base() *model.Config {
	cfg := &model.Config{}
	for range 3 {
		cfg.Certificates = append(cfg.Certificates, &model.Certificate{Base: model.Base{ID: w.id()}, Cert: w.pair.cert, Key: w.pair.key})
		cfg.CACertificates = append(cfg.CACertificates, &model.CACertificate{Base: model.Base{ID: w.id()}, Cert: w.pair.cert})
	}
	// A certificate only an upstream uses (and service 1, on it).
	upCert := &model.Certificate{Base: model.Base{ID: w.id()}, Cert: w.pair.cert, Key: w.pair.key}
	cfg.Certificates = append(cfg.Certificates, upCert)
	for i := range 3 {
		cfg.SNIs = append(cfg.SNIs, &model.SNI{Base: model.Base{ID: w.id()}, Name: fmt.Sprintf("sni%d.test", i),
			Certificate: &model.Ref{ID: cfg.Certificates[i].ID}})
	}
	for i := range 3 {
		u := model.NewUpstream()
		u.ID, u.Name = w.id(), fmt.Sprintf("up%d", i)
		if i == 1 {
			u.ClientCertificate = &model.Ref{ID: upCert.ID}
		}
		cfg.Upstreams = append(cfg.Upstreams, u)
		for j := range 2 {
			tg := model.NewTarget()
			tg.ID, tg.Target, tg.Upstream = w.id(), fmt.Sprintf("10.0.%d.%d:80", i, j), &model.Ref{ID: u.ID}
			cfg.Targets = append(cfg.Targets, tg)
		}
	}
	for i := range 6 {
		s := model.NewService()
		s.ID, s.Host = w.id(), fmt.Sprintf("svc%d.internal", i)
		if i < 3 {
			s.Host = cfg.Upstreams[i].Name
		}
		if i%2 == 1 {
			s.Protocol, s.Port = "https", 443
			verify := true
			s.TLSVerify = &verify
			s.CACertificates = []string{cfg.CACertificates[i%3].ID}
			if i != 1 { // service 1 takes its upstream's
				s.ClientCertificate = &model.Ref{ID: cfg.Certificates[i%3].ID}
			}
		}
		cfg.Services = append(cfg.Services, s)
		for j := range 2 {
			r := model.NewRoute()
			r.ID, r.Paths, r.Service = w.id(), []string{fmt.Sprintf("/s%d/r%d", i, j)}, &model.Ref{ID: s.ID}
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	for i := range 4 {
		co := &model.Consumer{Base: model.Base{ID: w.id()}}
		name := fmt.Sprintf("user%d", i)
		co.Username = &name
		cfg.Consumers = append(cfg.Consumers, co)
		cfg.KeyAuths = append(cfg.KeyAuths, &model.KeyAuth{Base: model.Base{ID: w.id()}, Key: "key-" + name,
			Consumer: &model.Ref{ID: co.ID}})
	}
	// A disabled service's routes are left out of the router: its bad
	// route is refused once it is enabled.
	off := model.NewService()
	off.ID, off.Host, off.Enabled = w.id(), "off.internal", false
	bad := model.NewRoute()
	bad.ID, bad.Paths, bad.Service = w.id(), []string{"~/off("}, &model.Ref{ID: off.ID}
	cfg.Services, cfg.Routes = append(cfg.Services, off), append(cfg.Routes, bad)
	for _, name := range []string{"key-auth", "cors", "request-termination"} {
		p := model.NewPlugin()
		p.ID, p.Name, p.Enabled = w.id(), name, true
		if name == "request-termination" {
			p.Config = map[string]any{"status_code": 503}
			p.Route = &model.Ref{ID: cfg.Routes[0].ID}
		}
		cfg.Plugins = append(cfg.Plugins, p)
	}
	cfg.Sort()
	return cfg
}

// write returns base after one random write, with the write's upserts
// and deletes; base is not changed.
func (w *writer) write(base *model.Config) (*model.Config, *model.Config, map[model.Kind][]string) {
	next := *base
	ups := &model.Config{}
	var dels map[model.Kind][]string
	del := func(k model.Kind, id string) { dels = map[model.Kind][]string{k: {id}} }
	coin := func(n int) bool { return w.rng.IntN(n) == 0 }
	pick := func(n int) int { return w.rng.IntN(max(n, 1)) }
	ref := func(ids ...string) *model.Ref {
		if coin(6) {
			return &model.Ref{ID: "99999999-9999-4999-8999-999999999999"} // none such
		}
		return &model.Ref{ID: ids[pick(len(ids))]}
	}
	ids := func(list any) []string {
		var out []string
		switch l := list.(type) {
		case []*model.Service:
			for _, e := range l {
				out = append(out, e.ID)
			}
		case []*model.Upstream:
			for _, e := range l {
				out = append(out, e.ID)
			}
		case []*model.Certificate:
			for _, e := range l {
				out = append(out, e.ID)
			}
		case []*model.CACertificate:
			for _, e := range l {
				out = append(out, e.ID)
			}
		}
		if len(out) == 0 {
			out = append(out, "99999999-9999-4999-8999-999999999999")
		}
		return out
	}
	switch w.rng.IntN(9) {
	case 0: // a route
		r := model.NewRoute()
		if len(base.Routes) > 0 && !coin(3) {
			old := base.Routes[pick(len(base.Routes))]
			if coin(4) {
				w.last = "delete route " + old.ID
				next.Routes = without(base.Routes, old.ID)
				del(model.KindRoute, old.ID)
				break
			}
			cp := *old
			r = &cp
		} else {
			r.ID = w.id()
		}
		r.Paths = []string{"/p" + r.ID[:8]}
		switch w.rng.IntN(5) {
		case 0:
			r.Paths = []string{"~/bad(" + r.ID[:4]} // an invalid regex
		case 1:
			r.Protocols = []string{"tcp"} // left out of the router
			r.Paths, r.Hosts = nil, nil
		}
		r.Service = ref(ids(base.Services)...)
		w.last = "upsert route"
		next.Routes = with(base.Routes, r)
		ups.Routes = []*model.Route{r}
	case 1: // a service
		s := model.NewService()
		if len(base.Services) > 0 && !coin(3) {
			old := base.Services[pick(len(base.Services))]
			if i := slices.IndexFunc(base.Services, func(s *model.Service) bool { return !s.Enabled }); i >= 0 && coin(4) {
				old = base.Services[i] // a disabled one, more often
			}
			if coin(4) {
				w.last = "delete service " + old.ID
				next.Services = without(base.Services, old.ID)
				del(model.KindService, old.ID)
				break
			}
			cp := *old
			s = &cp
		} else {
			s.ID, s.Host = w.id(), "new.internal"
		}
		switch w.rng.IntN(7) {
		case 0:
			s.Enabled = !s.Enabled
		case 1:
			s.Protocol = "gopher"
		case 2:
			s.Host = base.Upstreams[pick(len(base.Upstreams))].Name
		case 3:
			s.Protocol, s.Port = "https", 443
			verify := true
			s.TLSVerify = &verify
			s.CACertificates = []string{ref(ids(base.CACertificates)...).ID}
		case 4:
			s.Protocol, s.Port = "https", 443
			s.ClientCertificate = ref(ids(base.Certificates)...)
		case 5:
			s.Host = ""
		}
		w.last = "upsert service"
		next.Services = with(base.Services, s)
		ups.Services = []*model.Service{s}
	case 2: // an upstream
		u := model.NewUpstream()
		if len(base.Upstreams) > 0 && !coin(3) {
			old := base.Upstreams[pick(len(base.Upstreams))]
			if coin(4) {
				w.last = "delete upstream " + old.ID
				next.Upstreams = without(base.Upstreams, old.ID)
				del(model.KindUpstream, old.ID)
				break
			}
			cp := *old
			u = &cp
		} else {
			u.ID, u.Name = w.id(), fmt.Sprintf("up-%d", w.n)
		}
		switch w.rng.IntN(5) {
		case 0:
			u.Algorithm = "random"
		case 1:
			u.Name = fmt.Sprintf("svc%d.internal", pick(6)) // takes over a service's host
		case 2:
			u.ClientCertificate = ref(ids(base.Certificates)...)
		case 3:
			h := "backend.test"
			u.HostHeader = &h
		}
		w.last = "upsert upstream"
		next.Upstreams = with(base.Upstreams, u)
		ups.Upstreams = []*model.Upstream{u}
	case 3: // a target
		tg := model.NewTarget()
		if len(base.Targets) > 0 && !coin(3) {
			old := base.Targets[pick(len(base.Targets))]
			if coin(3) {
				w.last = "delete target " + old.ID
				next.Targets = without(base.Targets, old.ID)
				del(model.KindTarget, old.ID)
				break
			}
			cp := *old
			tg = &cp
		} else {
			tg.ID = w.id()
		}
		tg.Target = fmt.Sprintf("10.1.0.%d:80", pick(4)) // may repeat one of its upstream's
		tg.Upstream = ref(ids(base.Upstreams)...)
		w.last = "upsert target"
		next.Targets = with(base.Targets, tg)
		ups.Targets = []*model.Target{tg}
	case 4: // a plugin
		p := model.NewPlugin()
		if len(base.Plugins) > 0 && !coin(3) {
			old := base.Plugins[pick(len(base.Plugins))]
			if coin(4) {
				w.last = "delete plugin " + old.ID
				next.Plugins = without(base.Plugins, old.ID)
				del(model.KindPlugin, old.ID)
				break
			}
			cp := *old
			p = &cp
		} else {
			p.ID, p.Name, p.Enabled = w.id(), "request-termination", true
		}
		switch w.rng.IntN(4) {
		case 0:
			p.Name = "no-such-plugin"
		case 1:
			p.Enabled = !p.Enabled
		case 2:
			p.Name, p.Config = "request-termination", map[string]any{"status_code": "many"}
		}
		w.last = "upsert plugin " + p.Name
		next.Plugins = with(base.Plugins, p)
		ups.Plugins = []*model.Plugin{p}
	case 5: // a certificate
		m := &model.Certificate{Base: model.Base{ID: w.id()}}
		if len(base.Certificates) > 0 && !coin(3) {
			old := base.Certificates[pick(len(base.Certificates))]
			if coin(3) {
				w.last = "delete certificate " + old.ID
				next.Certificates = without(base.Certificates, old.ID)
				del(model.KindCertificate, old.ID)
				break
			}
			cp := *old
			m = &cp
		}
		m.Cert, m.Key = w.pair.cert, w.pair.key
		if coin(3) {
			m.Key = "not a key"
		}
		w.last = "upsert certificate"
		next.Certificates = with(base.Certificates, m)
		ups.Certificates = []*model.Certificate{m}
	case 6: // a CA certificate
		m := &model.CACertificate{Base: model.Base{ID: w.id()}}
		if len(base.CACertificates) > 0 && !coin(3) {
			old := base.CACertificates[pick(len(base.CACertificates))]
			if coin(3) {
				w.last = "delete ca_certificate " + old.ID
				next.CACertificates = without(base.CACertificates, old.ID)
				del(model.KindCACertificate, old.ID)
				break
			}
			cp := *old
			m = &cp
		}
		m.Cert = w.pair.cert
		if coin(3) {
			m.Cert = "not a certificate"
		}
		w.last = "upsert ca_certificate"
		next.CACertificates = with(base.CACertificates, m)
		ups.CACertificates = []*model.CACertificate{m}
	case 7: // an sni
		s := &model.SNI{Base: model.Base{ID: w.id()}, Name: fmt.Sprintf("n%d.test", w.n)}
		if len(base.SNIs) > 0 && !coin(3) {
			old := base.SNIs[pick(len(base.SNIs))]
			if coin(4) {
				w.last = "delete sni " + old.ID
				next.SNIs = without(base.SNIs, old.ID)
				del(model.KindSNI, old.ID)
				break
			}
			cp := *old
			s = &cp
		}
		s.Certificate = ref(ids(base.Certificates)...)
		w.last = "upsert sni"
		next.SNIs = with(base.SNIs, s)
		ups.SNIs = []*model.SNI{s}
	default: // a consumer and its credential
		co := &model.Consumer{Base: model.Base{ID: w.id()}}
		name := "c" + co.ID[:8]
		co.Username = &name
		k := &model.KeyAuth{Base: model.Base{ID: w.id()}, Key: "k" + name, Consumer: &model.Ref{ID: co.ID}}
		if coin(2) && len(base.Consumers) > 0 {
			old := base.Consumers[pick(len(base.Consumers))]
			w.last = "delete consumer " + old.ID
			next.Consumers = without(base.Consumers, old.ID)
			del(model.KindConsumer, old.ID)
			break
		}
		w.last = "upsert consumer and key"
		next.Consumers = with(base.Consumers, co)
		next.KeyAuths = with(base.KeyAuths, k)
		ups.Consumers, ups.KeyAuths = []*model.Consumer{co}, []*model.KeyAuth{k}
	}
	return &next, ups, dels
}

// with returns list with e in place of the entity of its id, or added,
// sorted by id; list is not changed.
func with[T model.Entity](list []T, e T) []T {
	out := without(list, e.Meta().ID)
	out = append(out, e)
	slices.SortFunc(out, func(a, b T) int {
		switch {
		case a.Meta().ID < b.Meta().ID:
			return -1
		case a.Meta().ID > b.Meta().ID:
			return 1
		}
		return 0
	})
	return out
}

// without returns a copy of list without the entity of id.
func without[T model.Entity](list []T, id string) []T {
	return slices.DeleteFunc(slices.Clone(list), func(e T) bool { return e.Meta().ID == id })
}
