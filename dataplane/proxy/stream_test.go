package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// TestWebSocketPassthrough: a WebSocket upgrade is relayed both ways, on
// goroutines and on event loops.
func TestWebSocketPassthrough(t *testing.T) {
	t.Parallel()
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, "ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer c.CloseNow()
				for {
					typ, msg, err := c.Read(r.Context())
					if err != nil {
						return
					}
					if err := c.Write(r.Context(), typ, append([]byte("echo:"+r.URL.Path+":"), msg...)); err != nil {
						return
					}
				}
			}))
			cfg := &model.Config{
				Services: []*model.Service{service("s", b.host(), b.port(), "/socket")},
				Routes:   []*model.Route{route("r", "s", "/ws")},
			}
			_, front := newProxy(t, cfg, withEventLoop(fe.eventLoop))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(front.URL, "http")+"/ws", nil)
			require.NoError(t, err)
			defer c.CloseNow()
			assert.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
			for _, msg := range []string{"one", "two", "three"} {
				require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(msg)))
				_, got, err := c.Read(ctx)
				require.NoError(t, err)
				assert.Equal(t, "echo:/socket:"+msg, string(got))
			}
			require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
		})
	}
}

// TestStreaming: a request body and a response stream through, on
// goroutines and on event loops.
func TestStreaming(t *testing.T) {
	t.Parallel()
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			t.Parallel()
			gotFirst, release := make(chan string, 1), make(chan struct{})
			// A failure before the upstream is released releases it.
			releaseOnce := sync.OnceFunc(func() { close(release) })
			defer releaseOnce()
			b := newBackend(t, "stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The request body arrives unbuffered: its first line is read
				// while the client is still sending.
				sc := bufio.NewScanner(r.Body)
				if sc.Scan() {
					gotFirst <- sc.Text()
				}
				for sc.Scan() {
				}
				// The response streams: the first chunk is flushed before the end.
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte("chunk 1\n"))
				w.(http.Flusher).Flush()
				<-release
				_, _ = w.Write([]byte("chunk 2\n"))
			}))
			cfg := &model.Config{
				Services: []*model.Service{service("s", b.host(), b.port(), "")},
				Routes:   []*model.Route{route("r", "s", "/")},
			}
			// Streamed request bodies are for routes that do not buffer them.
			cfg.Routes[0].RequestBuffering = false
			_, front := newProxy(t, cfg, withEventLoop(fe.eventLoop))
			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPost, front.URL+"/upload", pr)
			require.NoError(t, err)
			done := make(chan *http.Response, 1)
			go func() {
				defer close(done)
				if res, err := front.Client().Do(req); err == nil {
					done <- res
				}
			}()
			_, err = pw.Write([]byte("first line\n"))
			require.NoError(t, err)
			select {
			case line := <-gotFirst:
				assert.Equal(t, "first line", line)
			case <-time.After(time.Minute):
				t.Fatal("the request body was held back by the proxy")
			}
			_, err = pw.Write([]byte("second line\n"))
			require.NoError(t, err)
			require.NoError(t, pw.Close())
			var res *http.Response
			select {
			case res = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the response was held back by the proxy")
			}
			require.NotNil(t, res)
			defer res.Body.Close()
			rd := bufio.NewReader(res.Body)
			line, err := rd.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "chunk 1\n", line, "the first chunk arrives before the response is complete")
			releaseOnce()
			line, err = rd.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "chunk 2\n", line)
		})
	}
}

// TestStreamingResponses: what the upstream has sent reaches the client
// while the upstream pauses, whatever the framing of the response, on a
// route that buffers responses, on goroutines and on event loops.
func TestStreamingResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		header map[string]string
	}{
		{"unknown length", map[string]string{"Content-Type": "text/plain"}},
		{"known length", map[string]string{"Content-Type": "text/plain", "Content-Length": "16"}},
		{"event stream", map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "Content-Length": "16"}},
	}
	for _, fe := range frontends {
		for _, tc := range tests {
			t.Run(fe.name+"/"+tc.desc, func(t *testing.T) {
				t.Parallel()
				release := make(chan struct{})
				b := newBackend(t, "stream", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					_, _ = w.Write([]byte("chunk 1\n"))
					w.(http.Flusher).Flush()
					<-release
					_, _ = w.Write([]byte("chunk 2\n"))
				}))
				defer close(release)
				svc := service("s", b.host(), b.port(), "")
				svc.Retries = 0
				// The route buffers responses (Kong's default): what has
				// arrived is handed on all the same, on a loop too
				// (loopSpool).
				r := route("r", "s", "/")
				require.True(t, r.ResponseBuffering)
				_, front := newProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{r}},
					withEventLoop(fe.eventLoop))
				res, err := front.Client().Get(front.URL + "/")
				require.NoError(t, err)
				defer res.Body.Close()
				first := make(chan string, 1)
				go func() {
					line, _ := bufio.NewReader(res.Body).ReadString('\n')
					first <- line
				}()
				select {
				case line := <-first:
					assert.Equal(t, "chunk 1\n", line)
				case <-time.After(time.Minute):
					t.Fatal("the first chunk was held back by the proxy")
				}
			})
		}
	}
}
