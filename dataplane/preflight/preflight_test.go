package preflight_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/model"
)

func service() *model.Service {
	s := model.NewService()
	s.ID, s.Host = "11111111-1111-4111-8111-111111111111", "orders.internal"
	name := "orders"
	s.Name = &name
	return s
}

func TestCheck(t *testing.T) {
	t.Parallel()
	c := preflight.New()
	for _, tc := range []struct {
		desc string
		cfg  func() *model.Config
		want string
	}{
		{"empty", func() *model.Config { return &model.Config{} }, ""},
		{"a service", func() *model.Config { return &model.Config{Services: []*model.Service{service()}} }, ""},
		{"a plugin this data plane lacks", func() *model.Config {
			p := model.NewPlugin()
			p.ID, p.Name, p.Enabled = "22222222-2222-4222-8222-222222222222", "no-such-plugin", true
			return &model.Config{Plugins: []*model.Plugin{p}}
		}, "not available on this data plane"},
		{"a target of no upstream", func() *model.Config {
			tg := model.NewTarget()
			tg.ID, tg.Target = "33333333-3333-4333-8333-333333333333", "10.0.0.1:80"
			tg.Upstream = &model.Ref{ID: "44444444-4444-4444-8444-444444444444"}
			return &model.Config{Targets: []*model.Target{tg}}
		}, "unknown upstream"},
		{"a plugin's reference to a variable only data planes have", func() *model.Config {
			p := model.NewPlugin()
			p.ID, p.Name, p.Enabled = "66666666-6666-4666-8666-666666666666", "request-termination", true
			p.Config = map[string]any{"status_code": 503, "message": "{vault://env/skyport-preflight-unset}"}
			return &model.Config{Plugins: []*model.Plugin{p}}
		}, ""},
		{"a certificate of references, served for an sni and used by a service", func() *model.Config {
			alt, altKey := "{vault://env/alt-cert}", "{vault://env/alt-key}"
			s := service()
			s.ClientCertificate = &model.Ref{ID: "77777777-7777-4777-8777-777777777777"}
			return &model.Config{
				Services: []*model.Service{s},
				Certificates: []*model.Certificate{{Base: model.Base{ID: "77777777-7777-4777-8777-777777777777"},
					Cert: "{vault://env/skyport-preflight-unset}", Key: "{vault://env/skyport-preflight-unset-key}",
					CertAlt: &alt, KeyAlt: &altKey, SNIs: []string{"secret.test"}}},
				SNIs: []*model.SNI{{Base: model.Base{ID: "88888888-8888-4888-8888-888888888888"}, Name: "other.test",
					Certificate: &model.Ref{ID: "77777777-7777-4777-8777-777777777777"}}},
			}
		}, ""},
		{"an sni of no certificate beside a certificate of references", func() *model.Config {
			return &model.Config{
				Certificates: []*model.Certificate{{Base: model.Base{ID: "77777777-7777-4777-8777-777777777777"},
					Cert: "{vault://env/c}", Key: "{vault://env/k}"}},
				SNIs: []*model.SNI{{Base: model.Base{ID: "88888888-8888-4888-8888-888888888888"}, Name: "other.test",
					Certificate: &model.Ref{ID: "99999999-9999-4999-8999-999999999999"}}},
			}
		}, "unknown certificate"},
		{"a certificate that does not parse", func() *model.Config {
			return &model.Config{Certificates: []*model.Certificate{{Base: model.Base{ID: "55555555-5555-4555-8555-555555555555"}, Cert: "x", Key: "y"}}}
		}, "certificate"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			err := c.Check(context.Background(), tc.cfg())
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// BenchmarkCheck measures what the publisher adds to each full snapshot:
// a compile of the whole configuration (1,000 services with a route each).
func BenchmarkCheck(b *testing.B) {
	cfg := services(1000)
	c := preflight.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Check(ctx, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckChange measures what the publisher adds to a chained
// revision: the check of one route write, and of one service write
// (whose routes are found by a scan of the routes), at two sizes.
func BenchmarkCheckChange(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		for _, kind := range []string{"route", "service"} {
			b.Run(fmt.Sprintf("services=%d/%s", n, kind), func(b *testing.B) {
				base := services(n)
				next := *base
				upserts := &model.Config{}
				if kind == "route" {
					r := *base.Routes[n/2]
					r.Paths = []string{"/changed"}
					next.Routes = slices.Clone(base.Routes)
					next.Routes[n/2] = &r
					upserts.Routes = []*model.Route{&r}
				} else {
					s := *base.Services[n/2]
					s.Port = 8080
					next.Services = slices.Clone(base.Services)
					next.Services[n/2] = &s
					upserts.Services = []*model.Service{&s}
				}
				benchCheckChange(b, base, &next, upserts)
			})
		}
	}
}

// BenchmarkCheckChangeMany measures the check of one revision that
// changes 5,000 of 20,000 services (a bulk write between two
// publications): their routes are found by an index of the references,
// built once, rather than by a scan each.
func BenchmarkCheckChangeMany(b *testing.B) {
	base := services(20000)
	next := *base
	next.Services = slices.Clone(base.Services)
	upserts := &model.Config{}
	for i := range 5000 {
		s := *base.Services[i]
		s.Port = 8080
		next.Services[i] = &s
		upserts.Services = append(upserts.Services, &s)
	}
	benchCheckChange(b, base, &next, upserts)
}

func benchCheckChange(b *testing.B, base, next, upserts *model.Config) {
	c := preflight.New()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.CheckChange(ctx, base, next, upserts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// services returns n services with a route each, sorted by id.
func services(n int) *model.Config {
	cfg := &model.Config{}
	for i := range n {
		s := model.NewService()
		s.ID = fmt.Sprintf("00000000-0000-4000-a000-%012d", i)
		name := fmt.Sprintf("svc-%d", i)
		s.Name, s.Host = &name, name+".internal"
		r := model.NewRoute()
		r.ID = fmt.Sprintf("10000000-0000-4000-a000-%012d", i)
		r.Paths = []string{"/" + name}
		r.Service = &model.Ref{ID: s.ID}
		cfg.Services = append(cfg.Services, s)
		cfg.Routes = append(cfg.Routes, r)
	}
	return cfg
}
