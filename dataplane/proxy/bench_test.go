package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkProxy measures a request through the handler to a local
// upstream, with one route and with 10,000 routes.
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer up.Close()
	host, p, _ := net.SplitHostPort(up.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			cfg := &model.Config{Services: []*model.Service{service("s", host, port, "")}}
			for i := range n {
				cfg.Routes = append(cfg.Routes, route(fmt.Sprintf("r%d", i), "s", fmt.Sprintf("/api/v%d/items", i)))
			}
			px := proxy.New(proxy.Options{Version: "bench", LatencyHeaders: true, RequestID: true})
			if err := px.Apply(b.Context(), cfg, 1, "bench"); err != nil {
				b.Fatal(err)
			}
			defer px.Close()
			path := fmt.Sprintf("/api/v%d/items/42", n/2)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				rec := httptest.NewRecorder()
				px.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				_, _ = io.Copy(io.Discard, rec.Body)
			}
		})
	}
}
