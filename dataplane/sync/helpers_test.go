package sync_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
	"github.com/skyport-gw/skyport/internal/freeport"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// fixedTime is when test snapshots are sealed.
var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// waitFor bounds how long a test waits for the client to act: generous,
// so a loaded machine never fails a test that passes; tick is how often a
// condition is checked meanwhile.
const (
	waitFor = time.Minute
	tick    = 20 * time.Millisecond
)

// fakeApplier records applies; fail makes Apply refuse.
type fakeApplier struct {
	mu      stdsync.Mutex
	rev     int64
	hash    string
	calls   []int64
	sources []string
	fail    error
}

func (a *fakeApplier) Apply(ctx context.Context, cfg *model.Config, rev int64, source string) error {
	return a.ApplyHashed(ctx, cfg, snapshot.ConfigHash(cfg), rev, source)
}

// ApplyHashed records the hash the client gives, which the tests compare
// with the hash of the configuration they published (runs).
func (a *fakeApplier) ApplyHashed(_ context.Context, _ *model.Config, hash string, rev int64, source string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, rev)
	a.sources = append(a.sources, source)
	if a.fail != nil {
		return a.fail
	}
	a.rev, a.hash = rev, hash
	return nil
}

func (a *fakeApplier) Current() (int64, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rev, a.hash
}

func (a *fakeApplier) revision() int64 {
	rev, _ := a.Current()
	return rev
}

func (a *fakeApplier) applied() ([]int64, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int64(nil), a.calls...), append([]string(nil), a.sources...)
}

var _ dpsync.HashedApplier = (*fakeApplier)(nil)

// document is a one-service configuration at rev.
func document(rev int64) *snapshot.Document {
	name := fmt.Sprintf("svc-%d", rev)
	return &snapshot.Document{Revision: rev, Config: model.Config{Services: []*model.Service{{
		Base: model.Base{ID: fmt.Sprintf("00000000-0000-4000-a000-%012d", rev)},
		Name: &name, Host: "example.com", Protocol: "http", Port: 80,
	}}}}
}

// publish seals rev into store as the publisher does and returns its pointer.
func publish(t *testing.T, store objstore.Store, priv ed25519.PrivateKey, rev int64) snapshot.Pointer {
	t.Helper()
	data, p, err := snapshot.Seal(document(rev), priv, time.Now())
	require.NoError(t, err)
	ctx := context.Background()
	_, err = store.Put(ctx, p.Key, data, objstore.Condition{})
	require.NoError(t, err)
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = store.Put(ctx, snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(t, err)
	return p
}

func notice(p snapshot.Pointer) protocol.ConfigNotice {
	return protocol.ConfigNotice{
		Type: protocol.TypeConfig, Revision: p.Revision, Key: p.Key, SHA256: p.SHA256,
		Size: p.Size, Signature: p.Signature, Format: p.Format, ClusterID: p.ClusterID, Epoch: p.Epoch,
	}
}

func dirStore(t *testing.T) *objstore.Dir {
	t.Helper()
	d, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	return d
}

// testConfig is a client configuration with fast timings.
func testConfig(t *testing.T, pub ed25519.PublicKey) dpsync.Config {
	return dpsync.Config{
		VerifyKey:    pub,
		NodeID:       "node-1",
		Hostname:     "host-1",
		Version:      "test",
		Labels:       map[string]string{"region": "eu"},
		Plugins:      []string{"key-auth"},
		FallbackPoll: 20 * time.Millisecond,
		Backoff:      backoff.Policy{Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond},
		Log:          slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// logLines keeps what a client logs, one line a record, as it also goes
// to the test's log.
type logLines struct {
	t     *testing.T
	mu    stdsync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

// has reports whether a line holds every one of parts.
func (l *logLines) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// captureLogs sends cfg's logs to the returned lines too.
func captureLogs(t *testing.T, cfg *dpsync.Config) *logLines {
	l := &logLines{t: t}
	cfg.Log = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return l
}

// flipLastByte damages the file at path.
func flipLastByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[len(data)-1] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// run starts c until the test ends.
func run(t *testing.T, c *dpsync.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// fakeCP is a control plane speaking the WebSocket protocol.
type fakeCP struct {
	srv   *httptest.Server
	conns chan *websocket.Conn
	auth  chan string
	msgs  chan []byte
}

func newFakeCP(t *testing.T) *fakeCP {
	f := &fakeCP{conns: make(chan *websocket.Conn, 16), auth: make(chan string, 16), msgs: make(chan []byte, 256)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		f.auth <- r.Header.Get("Authorization")
		f.conns <- conn
		for {
			_, raw, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			f.msgs <- raw
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCP) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") }

// accept returns the next connection the client opens.
func (f *fakeCP) accept(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(waitFor):
		t.Fatal("no connection from the data plane")
		return nil
	}
}

// next returns the next message of action, skipping heartbeats and other
// messages in between.
func (f *fakeCP) next(t *testing.T, action string, v any) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case raw := <-f.msgs:
			var head struct {
				Action string `json:"action"`
			}
			require.NoError(t, json.Unmarshal(raw, &head))
			if head.Action == action {
				require.NoError(t, json.Unmarshal(raw, v))
				return
			}
		case <-deadline:
			t.Fatalf("no %s message from the data plane", action)
		}
	}
}

func send(t *testing.T, conn *websocket.Conn, v any) {
	t.Helper()
	require.NoError(t, wsjson.Write(context.Background(), conn, v))
}

// closedURL is a WebSocket URL that refuses every connection for the
// rest of the test.
func closedURL(t *testing.T) string {
	t.Helper()
	port, release, err := freeport.Refusing()
	require.NoError(t, err)
	t.Cleanup(release)
	return fmt.Sprintf("ws://127.0.0.1:%d", port)
}
