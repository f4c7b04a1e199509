package scale_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// BenchmarkDeltaApply is what a data plane does with a one-route delta
// once it has its bytes, at the scale of a big shop: verify and decode
// the delta, apply it to the running configuration and its digest (the
// result's hash checked), compile and swap the result in, as
// dataplane/sync does. Each iteration changes one
// route's paths; cpu-ms/op is the CPU time the apply used.
func BenchmarkDeltaApply(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			data, ptr, pub := sealed(b, n)
			doc, err := dpsync.Standard{}.OpenSnapshot(data, ptr, pub) // packed, as a data plane holds it
			if err != nil {
				b.Fatal(err)
			}
			px := proxy.New(proxy.Options{Registry: plugins.Registry()})
			defer px.Close()
			ctx := context.Background()
			cfg, rev := &doc.Config, doc.Revision
			digest, err := snapshot.DigestOf(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := px.ApplyHashed(ctx, cfg, digest.Hash(), rev, "bench"); err != nil {
				b.Fatal(err)
			}
			pub, priv, err := snapshot.GenerateKey()
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var cpu time.Duration
			for i := range b.N {
				b.StopTimer()
				stored, dptr := routeDelta(b, priv, cfg, digest, rev, i)
				b.StartTimer()
				start := cpuTime()
				d, err := delta.Open(stored, dptr, pub)
				if err != nil {
					b.Fatal(err)
				}
				next, nextDigest, err := delta.ApplyDigest(cfg, digest, rev, d)
				if err != nil {
					b.Fatal(err)
				}
				if err := px.ApplyHashed(ctx, next, nextDigest.Hash(), d.Revision, "bench"); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - start
				cfg, digest, rev = next, nextDigest, d.Revision
			}
			b.StopTimer()
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// routeDelta seals the delta from cfg (at rev, of the given digest) that
// changes the paths of one of its routes, as the publisher would after
// one route write.
func routeDelta(b *testing.B, priv ed25519.PrivateKey, cfg *model.Config, digest snapshot.Digest, rev int64, i int) ([]byte, delta.Pointer) {
	was := cfg.Routes[i%len(cfg.Routes)]
	r := *was
	r.Paths = []string{fmt.Sprintf("/changed/%d", i)}
	if err := digest.Remove(was); err != nil {
		b.Fatal(err)
	}
	if err := digest.Add(&r); err != nil {
		b.Fatal(err)
	}
	doc := &delta.Document{Base: rev, Revision: rev + 1, ConfigHash: digest.Hash()}
	doc.Upserts.Add(&r)
	data, p, err := delta.Seal(doc, priv, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return data, p
}
