package scale_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/bench/scale"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// cpuTime is the CPU time (user and system) the process has used: on a
// shared machine it says what a run cost when the wall clock cannot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var sizes = flag.String("scale.entities", "10000,110000", "comma-separated entity counts the scale benchmarks run at")

func entityCounts(b *testing.B) []int {
	var out []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("-scale.entities: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out
}

func document(b *testing.B, n int, f scale.Format) []byte {
	var buf bytes.Buffer
	if err := scale.Write(&buf, scale.ShapeFor(n), f); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func newAdmin(b *testing.B) (http.Handler, *embedded.Store) {
	s, err := embedded.Open(filepath.Join(b.TempDir(), "cp.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return admin.New(admin.Options{Store: s, Database: "embedded"}), s
}

// BenchmarkLoadConfig measures POST /config of a generated kong.yml on the
// embedded store: parse, validate, replace every entity in one revision.
func BenchmarkLoadConfig(b *testing.B) {
	for _, n := range entityCounts(b) {
		for _, f := range []struct {
			name   string
			format scale.Format
			ctype  string
		}{{"yaml", scale.YAML, "application/x-yaml"}, {"json", scale.JSON, "application/json"}} {
			b.Run(fmt.Sprintf("entities=%d/%s", n, f.name), func(b *testing.B) {
				doc := document(b, n, f.format)
				h, _ := newAdmin(b)
				b.SetBytes(int64(len(doc)))
				b.ResetTimer()
				cpu := cpuTime()
				for range b.N {
					req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/config", bytes.NewReader(doc))
					req.Header.Set("Content-Type", f.ctype)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusCreated {
						b.Fatalf("POST /config: %d %.300s", rec.Code, rec.Body.String())
					}
				}
				b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
				b.ReportMetric(float64(scale.ShapeFor(n).Entities()*b.N)/b.Elapsed().Seconds(), "entities/s")
			})
		}
	}
}

// BenchmarkListConsumers loads a generated configuration, then pages
// through every consumer with GET /consumers?size=1000, and one
// consumer's key-auth credentials by the nested endpoint.
func BenchmarkListConsumers(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			shape := scale.ShapeFor(n)
			h, _ := newAdmin(b)
			load(b, h, document(b, n, scale.JSON))
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				if got := pageAll(b, h, "/consumers?size=1000"); got != shape.Consumers {
					b.Fatalf("paged through %d consumers, want %d", got, shape.Consumers)
				}
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(shape.Consumers*b.N)/b.Elapsed().Seconds(), "entities/s")
		})
	}
}

// BenchmarkNestedList measures GET /consumers/{username}/key-auth, one
// consumer's credentials among every consumer's.
func BenchmarkNestedList(b *testing.B) {
	benchLookup(b, "/consumers/user-%d/key-auth", "credentials")
}

func load(b *testing.B, h http.Handler, doc []byte) {
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/config", bytes.NewReader(doc))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		b.Fatalf("POST /config: %d %.300s", rec.Code, rec.Body.String())
	}
}

// pageAll follows next links from path and returns how many entities the
// pages held.
func pageAll(b *testing.B, h http.Handler, path string) int {
	total := 0
	for path != "" {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %.300s", path, rec.Code, rec.Body.String())
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
			Next *string           `json:"next"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
		total += len(page.Data)
		path = ""
		if page.Next != nil {
			path = *page.Next
		}
	}
	return total
}

// BenchmarkConsumerByCustomID measures GET /consumers?custom_id=…, which
// decK and go-kong use to find a consumer.
func BenchmarkConsumerByCustomID(b *testing.B) {
	benchLookup(b, "/consumers?custom_id=cid-%d", "consumers")
}

// benchLookup measures GET path (pathFormat with a consumer's number),
// which must list exactly one of what.
func benchLookup(b *testing.B, pathFormat, what string) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			h, _ := newAdmin(b)
			load(b, h, document(b, n, scale.JSON))
			b.ResetTimer()
			for i := range b.N {
				path := fmt.Sprintf(pathFormat, i%scale.ShapeFor(n).Consumers)
				if got := pageAll(b, h, path); got != 1 {
					b.Fatalf("%s: %d %s, want 1", path, got, what)
				}
			}
		})
	}
}
