package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/rie"
)

// lambdaNames are the functions the stack deploys (lambdas/cmd/*).
var lambdaNames = []string{"admin", "publisher", "cluster", "authorizer", "keygen"}

// lambdaBuild holds the emulator and the bootstraps, built once per run.
var lambdaBuild struct {
	once sync.Once
	rie  string
	boot map[string]string
	err  error
}

// lambdaBinaries builds the Runtime Interface Emulator and every Lambda
// bootstrap for the host, once for the package.
func lambdaBinaries(t *testing.T) (string, map[string]string) {
	t.Helper()
	lambdaBuild.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		dir := filepath.Join(filepath.Dir(binary), "lambda")
		if lambdaBuild.err = os.MkdirAll(dir, 0o755); lambdaBuild.err != nil {
			return
		}
		if lambdaBuild.rie, lambdaBuild.err = rie.Build(ctx, dir); lambdaBuild.err != nil {
			return
		}
		lambdaBuild.boot = map[string]string{}
		for _, name := range lambdaNames {
			path, err := rie.BuildBootstrap(ctx, "..", "./lambdas/cmd/"+name, dir)
			if err != nil {
				lambdaBuild.err = err
				return
			}
			lambdaBuild.boot[name] = path
		}
	})
	require.NoError(t, lambdaBuild.err)
	return lambdaBuild.rie, lambdaBuild.boot
}

// startFunction runs the named bootstrap under the emulator with env (the
// stack's environment for it, plus the emulator's AWS settings).
func startFunction(t *testing.T, name string, env ...string) *rie.Function {
	t.Helper()
	emu, boot := lambdaBinaries(t)
	f, err := rie.Start(context.Background(), rie.Options{RIE: emu, Bootstrap: boot[name], Env: env, Name: "Skyport-" + name})
	require.NoError(t, err)
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			t.Logf("---- %s under the emulator ----\n%s", name, tail(f.Logs(), 60))
		}
	})
	return f
}

// event reads testdata/lambda/<name>.json into v, the aws-lambda-go type
// Lambda would decode it into.
func event(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "lambda", name+".json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v), name)
}

// invoke sends ev to f and decodes its result into out.
func invoke(t *testing.T, f *rie.Function, ev, out any) {
	t.Helper()
	payload, err := json.Marshal(ev)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := f.Invoke(ctx, payload)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(res, out), "result %s", res)
	}
}

// connectionsAPI records what is posted to API Gateway's @connections
// API; connections in gone answer 410 GoneException, as API Gateway does
// for a closed connection.
type connectionsAPI struct {
	mu       sync.Mutex
	received map[string][]protocol.ConfigNotice
	gone     map[string]bool
}

func newConnectionsAPI(t *testing.T, gone ...string) (*connectionsAPI, string) {
	t.Helper()
	c := &connectionsAPI{received: map[string][]protocol.ConfigNotice{}, gone: map[string]bool{}}
	for _, id := range gone {
		c.gone[id] = true
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *connectionsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/@connections/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 128<<10))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone[id] {
		w.Header().Set("X-Amzn-Errortype", "GoneException")
		w.WriteHeader(http.StatusGone)
		_, _ = io.WriteString(w, `{"message":null}`)
		return
	}
	var n protocol.ConfigNotice
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.received[id] = append(c.received[id], n)
}

func (c *connectionsAPI) notices(id string) []protocol.ConfigNotice {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.ConfigNotice(nil), c.received[id]...)
}
