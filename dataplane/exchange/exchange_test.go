package exchange_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/h1"
)

// serveView serves handle on a real server, through the view of that
// server's request and response, and returns the base URL.
type serveView func(t *testing.T, handle func(exchange.Response, exchange.Request)) string

var servers = []struct {
	desc  string
	serve serveView
}{
	{"h1", func(t *testing.T, handle func(exchange.Response, exchange.Request)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		s := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
			handle(exchange.H1Response{W: w}, exchange.H1Request{R: r})
		})}
		go func() { _ = s.Serve(ln) }()
		t.Cleanup(func() { _ = s.Close() })
		return "http://" + ln.Addr().String()
	}},
	{"net/http", func(t *testing.T, handle func(exchange.Response, exchange.Request)) string {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handle(exchange.NewHTTPResponse(w), exchange.NewHTTPRequest(r))
		}))
		t.Cleanup(ts.Close)
		return ts.URL
	}},
}

// TestConformance runs the same checks on the view of each server: the
// contract routing, plugins, metrics and logs rely on.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		t.Run(srv.desc, func(t *testing.T) {
			t.Parallel()
			seen := make(chan map[string]string, 1)
			url := srv.serve(t, func(w exchange.Response, r exchange.Request) {
				got := map[string]string{
					"method": string(r.Method()), "host": string(r.Host()), "path": string(r.Path()),
					"query": string(r.Query()), "proto": r.Proto(), "client": r.ClientAddr().Addr().String(),
					"x-one": string(r.Header().Get("x-one")), "X-One": string(r.Header().Get("X-One")),
				}
				var vals []string
				r.Header().Values("X-Many", func(v []byte) bool { vals = append(vals, string(v)); return true })
				got["many"] = strings.Join(vals, ",")
				n := 0
				for i := range r.Header().Len() {
					if name, _ := r.Header().At(i); strings.EqualFold(string(name), "x-many") {
						n++
					}
				}
				got["many count"] = string(rune('0' + n))
				r.Header().Set("X-One", "changed")
				r.Header().Del("X-Many")
				got["after set"] = string(r.Header().Get("x-one"))
				got["after del"] = string(r.Header().Get("x-many"))
				body, err := io.ReadAll(r.Body())
				require.NoError(t, err)
				got["body"], got["length"] = string(body), string(rune('0'+r.ContentLength()))
				got["tls"] = map[bool]string{true: "yes", false: "no"}[r.TLS() != nil]
				seen <- got
				w.Header().Set("X-Answer", "a")
				w.Header().Add("X-Answer", "b")
				w.Header().Set("X-Gone", "c")
				w.Header().Del("X-Gone")
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte("created"))
				assert.Equal(t, http.StatusCreated, w.Status())
				assert.EqualValues(t, len("created"), w.Written())
			})
			req, err := http.NewRequest(http.MethodPost, url+"/a%2Fb/c?x=1&y=2", strings.NewReader("hello"))
			require.NoError(t, err)
			req.Header.Set("X-One", "1")
			req.Header.Add("X-Many", "a")
			req.Header.Add("X-Many", "b")
			res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			assert.Equal(t, http.StatusCreated, res.StatusCode)
			assert.Equal(t, "created", string(body))
			assert.Equal(t, []string{"a", "b"}, res.Header.Values("X-Answer"))
			assert.Empty(t, res.Header.Get("X-Gone"))
			got := <-seen
			host := strings.TrimPrefix(url, "http://")
			for k, want := range map[string]string{
				"method": "POST", "host": host, "path": "/a%2Fb/c", "query": "x=1&y=2", "proto": "HTTP/1.1",
				"client": "127.0.0.1", "x-one": "1", "X-One": "1", "many": "a,b", "many count": "2",
				"after set": "changed", "after del": "", "body": "hello", "length": "5", "tls": "no",
			} {
				assert.Equal(t, want, got[k], k)
			}
		})
	}
}

// TestH1ViewAllocations: the h1 view adds no allocation to a request.
func TestH1ViewAllocations(t *testing.T) {
	var r h1.Request
	allocs := testing.AllocsPerRun(100, func() {
		var v exchange.Request = exchange.H1Request{R: &r}
		_ = v.Method()
		_ = v.Header().Get("x")
	})
	assert.Zero(t, allocs)
}
