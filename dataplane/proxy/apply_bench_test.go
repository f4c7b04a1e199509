package proxy_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// applyConfig is n host routes to one service, each tagged tag: two tags
// make two configurations in which every route differs, as two full
// snapshots from different writes do.
func applyConfig(n int, tag string) *model.Config {
	cfg := &model.Config{}
	svc := model.NewService()
	svc.ID = "00000000-0000-4000-a000-000000000001"
	svc.Name = model.String("bench")
	svc.Host = "127.0.0.1"
	svc.Port = 9
	cfg.Services = append(cfg.Services, svc)
	for i := range n {
		rt := model.NewRoute()
		rt.ID = fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
		rt.Name = model.String(fmt.Sprintf("r%d", i))
		rt.Hosts = []string{fmt.Sprintf("h%d.bench.test", i)}
		rt.Paths = []string{"/"}
		rt.Tags = []string{tag}
		rt.Service = &model.Ref{ID: svc.ID}
		cfg.Routes = append(cfg.Routes, rt)
	}
	return cfg
}

// BenchmarkApply applies, in turn, two configurations of 10k routes in
// which every route differs: the compile and swap of make bench's apply
// section without the snapshot's fetch and verification.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	cfgs := [2]*model.Config{applyConfig(10000, "a"), applyConfig(10000, "b")}
	srv := proxy.New(proxy.Options{Version: "bench"})
	defer srv.Close()
	if err := srv.Apply(ctx, cfgs[0], 1, "bench"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := srv.Apply(ctx, cfgs[(i+1)%2], int64(i+2), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
