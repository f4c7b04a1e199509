package scale_test

import (
	"bytes"
	"context"
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
