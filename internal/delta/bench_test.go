package delta_test

import (
	"fmt"
	"testing"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// large is a configuration of n consumers, each with a key-auth
// credential, and n/100 services with a route each: the shape of a large
// Kong installation.
func large(n int) *model.Config {
	cfg := &model.Config{}
	for i := range n {
		c := &model.Consumer{Base: model.Base{ID: fmt.Sprintf("c0000000-0000-4000-a000-%012d", i)}, Username: model.String(fmt.Sprintf("user-%d", i))}
		cfg.Add(c)
		cfg.Add(&model.KeyAuth{Base: model.Base{ID: fmt.Sprintf("k0000000-0000-4000-a000-%012d", i)}, Key: fmt.Sprintf("key-%d", i), Consumer: &model.Ref{ID: c.ID}})
	}
	for i := range n / 100 {
		s := service(fmt.Sprintf("50000000-0000-4000-a000-%012d", i), fmt.Sprintf("svc%d", i))
		cfg.Add(s)
		cfg.Add(route(fmt.Sprintf("70000000-0000-4000-a000-%012d", i), s.ID, fmt.Sprintf("/s%d", i)))
	}
	cfg.Sort()
	return cfg
}

// BenchmarkDiffIndex is the publisher's cost of a one-route delta from the
// previous revision's index, at 20k entities (2 per consumer).
func BenchmarkDiffIndex(b *testing.B) {
	base := large(10_000)
	idx, err := delta.IndexOf(base)
	if err != nil {
		b.Fatal(err)
	}
	target := base.Clone()
	target.Routes[0].Paths = []string{"/changed"}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := delta.DiffIndex(id, 1, idx, 2, target); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply is the data plane's cost of applying a one-route delta
// (the result's hash checked) at 20k entities.
func BenchmarkApply(b *testing.B) {
	base := large(10_000)
	target := base.Clone()
	target.Routes[0].Paths = []string{"/changed"}
	doc, err := delta.Diff(id, 1, base, 2, target)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := delta.Apply(base, 1, doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullVersusDelta compares what a data plane does with a
// one-route change at 20k entities, compile aside: verify and decode the
// full snapshot, or verify and decode the delta and apply it to the
// running configuration (the result's hash checked).
func BenchmarkFullVersusDelta(b *testing.B) {
	base := large(10_000)
	target := base.Clone()
	target.Routes[0].Paths = []string{"/changed"}
	full, fptr, err := snapshot.Seal(&snapshot.Document{Revision: 2, ClusterID: id.ClusterID, Epoch: id.Epoch, Config: *target}, priv, now)
	if err != nil {
		b.Fatal(err)
	}
	doc, err := delta.Diff(id, 1, base, 2, target)
	if err != nil {
		b.Fatal(err)
	}
	data, dptr, err := delta.Seal(doc, priv, now)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("full", func(b *testing.B) {
		b.ReportMetric(float64(len(full)), "stored-bytes")
		for b.Loop() {
			if _, err := snapshot.Open(full, fptr, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delta", func(b *testing.B) {
		b.ReportMetric(float64(len(data)), "stored-bytes")
		for b.Loop() {
			d, err := delta.Open(data, dptr, pub)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := delta.Apply(base, 1, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
