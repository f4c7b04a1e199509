package admin_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// historyBackend is a store and the object store its publisher writes.
type historyBackend struct {
	name string
	open func(t *testing.T) (store.Store, objstore.Store)
}

var historyBackends = []historyBackend{
	{"embedded", func(t *testing.T) (store.Store, objstore.Store) {
		dir, err := objstore.NewDir(filepath.Join(t.TempDir(), "snapshots"))
		require.NoError(t, err)
		return openEmbedded(t), dir
	}},
	{"aws", func(t *testing.T) (store.Store, objstore.Store) {
		ctx := context.Background()
		srv := motoserver.Start(t)
		cfg := srv.SerialConfig()
		st := dynamo.New(dynamodb.NewFromConfig(cfg), "skyport-history")
		require.NoError(t, st.CreateTable(ctx))
		objects := objstore.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "skyport-history", "cp")
		require.NoError(t, objects.CreateBucket(ctx))
		return st, objects
	}},
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// historyClient is an Admin API with a history, and the publisher that
// writes it, run by hand after each write.
type historyClient struct {
	*client
	pub *publisher.Publisher
}

// refuseNamed stands for the data plane's compiler: it refuses a
// configuration holding a service named "refuse-me".
type refuseNamed struct{}

func (refuseNamed) Check(_ context.Context, cfg *model.Config) error {
	for _, s := range cfg.Services {
		if s.Name != nil && *s.Name == "refuse-me" {
			return errors.New("compiling service refuse-me: refused")
		}
	}
	return nil
}

func newHistoryClient(t *testing.T, b historyBackend, ret history.Retention, clk *clock) *historyClient {
	t.Helper()
	st, objects := b.open(t)
	hist := history.New(objects, ret, clk.Now)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pub := publisher.New(publisher.Options{Source: st, Objects: objects, Key: key, History: hist, PruneHistory: true, Clock: clk.Now,
		Validator: refuseNamed{}, Logger: slog.New(slog.DiscardHandler)})
	return &historyClient{client: newClient(t, st, admin.Options{History: hist}), pub: pub}
}

func (c *historyClient) publish() {
	c.t.Helper()
	_, err := c.pub.Publish(context.Background())
	require.NoError(c.t, err)
}

// raw sends a GET with an Accept header and returns status, content type
// and body.
func (c *historyClient) raw(path, accept string) (int, string, string) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, c.url+path, nil)
	require.NoError(c.t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestRevisionHistory(t *testing.T) {
	t.Parallel()
	for _, b := range historyBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: time.Unix(1790000000, 0)}
			c := newHistoryClient(t, b, history.Retention{}, clk)

			c.must(200, "GET", "/config/revisions", nil)
			svc := c.must(201, "POST", "/services", map[string]any{"name": "orders", "url": "http://orders.internal"})
			c.publish()
			c.must(201, "POST", "/services/orders/routes", map[string]any{"name": "r1", "paths": []string{"/orders"}})
			c.publish()
			c.must(200, "PATCH", "/services/orders", map[string]any{"retries": 2})
			// Three writes published as one: revisions 3 and 4 have no record.
			c.must(201, "POST", "/consumers", map[string]any{"username": "alice"})
			c.must(204, "DELETE", "/consumers/alice", nil)
			c.publish()

			page := c.must(200, "GET", "/config/revisions?size=2", nil)
			data := page["data"].([]any)
			require.Len(t, data, 2)
			newest := data[0].(map[string]any)
			require.EqualValues(t, 5, newest["revision"])
			require.EqualValues(t, 2, data[1].(map[string]any)["revision"], "revisions published as one have one record, the newest")
			require.EqualValues(t, 2, newest["since"])
			require.Equal(t, map[string]any{"services": 1.0, "routes": 1.0}, newest["entities"])
			require.Equal(t, map[string]any{"services": map[string]any{"created": 0.0, "updated": 1.0, "deleted": 0.0}}, newest["changes"])
			require.Equal(t, "published", newest["state"])
			require.Len(t, newest["config_hash"], 32)
			require.EqualValues(t, clk.Now().Unix(), newest["created_at"])
			next, _ := page["next"].(string)
			require.NotEmpty(t, next)
			rest := c.must(200, "GET", next, nil)
			require.Len(t, rest["data"], 1)
			require.EqualValues(t, 1, rest["data"].([]any)[0].(map[string]any)["revision"])
			require.Nil(t, rest["next"])

			one := c.must(200, "GET", "/config/revisions/2", nil)
			require.Equal(t, map[string]any{"routes": map[string]any{"created": 1.0, "updated": 0.0, "deleted": 0.0}}, one["changes"])

			status, ctype, yml := c.raw("/config/revisions/2/config", "")
			require.Equal(t, 200, status)
			require.Contains(t, ctype, "yaml")
			require.Contains(t, yml, "_format_version")
			require.Contains(t, yml, "name: orders")
			require.Contains(t, yml, "/orders")
			status, ctype, js := c.raw("/config/revisions/2/config", "application/json")
			require.Equal(t, 200, status)
			require.Contains(t, ctype, "application/json")
			require.True(t, strings.HasPrefix(js, "{"), js)
			require.Contains(t, js, `"name": "orders"`)

			diff := c.must(200, "GET", "/config/revisions/2/diff/5", nil)
			changes := diff["changes"].([]any)
			require.Len(t, changes, 1)
			ch := changes[0].(map[string]any)
			require.Equal(t, "updated", ch["op"])
			require.Equal(t, svc["id"], ch["id"])
			require.Equal(t, "orders", ch["name"])
			require.EqualValues(t, 5, ch["before"].(map[string]any)["retries"])
			require.EqualValues(t, 2, ch["after"].(map[string]any)["retries"])
			back := c.must(200, "GET", "/config/revisions/5/diff/1", nil)
			require.Equal(t, map[string]any{
				"routes":   map[string]any{"created": 0.0, "updated": 0.0, "deleted": 1.0},
				"services": map[string]any{"created": 0.0, "updated": 1.0, "deleted": 0.0},
			}, back["summary"])

			c.must(404, "GET", "/config/revisions/3", nil)
			c.must(404, "GET", "/config/revisions/4", nil)
			c.must(404, "GET", "/config/revisions/99", nil)
			c.must(400, "GET", "/config/revisions/abc", nil)
			c.must(400, "GET", "/config/revisions/0/config", nil)
			c.must(404, "GET", "/config/revisions/2/nothing", nil)
			c.must(405, "DELETE", "/config/revisions/2", nil)
			requireCode(t, c.do("GET", "/config/revisions?offset=bogus", nil), 400, 7)
			requireCode(t, c.do("GET", "/config/revisions?size=0", nil), 400, 9)

			// Rollback: a new revision equal to revision 1's configuration.
			rb := c.must(201, "POST", "/config/revisions/1/rollback", nil)
			require.EqualValues(t, 6, rb["revision"])
			require.EqualValues(t, 1, rb["rollback_of"])
			c.must(404, "GET", "/services/orders/routes/r1", nil)
			require.EqualValues(t, 5, c.must(200, "GET", "/services/orders", nil)["retries"])
			c.publish()
			_, _, y1 := c.raw("/config/revisions/1/config", "")
			_, _, y6 := c.raw("/config/revisions/6/config", "")
			require.Equal(t, y1, y6)
			r6 := c.must(200, "GET", "/config/revisions/6", nil)
			require.Equal(t, c.must(200, "GET", "/config/revisions/1", nil)["config_hash"], r6["config_hash"])
			c.must(404, "POST", "/config/revisions/3/rollback", nil)
			require.EqualValues(t, 6, c.revision(), "a refused rollback commits nothing")

			// A revision the data planes' compiler refuses: recorded, not
			// published.
			c.must(201, "POST", "/services", map[string]any{"name": "refuse-me", "host": "x.internal"})
			c.publish()
			refused := c.must(200, "GET", "/config/revisions/7", nil)
			require.Equal(t, "refused", refused["state"])
			require.Contains(t, refused["error"], "refuse-me")
			require.EqualValues(t, 6, refused["since"])
			c.must(404, "GET", "/config/revisions/7/config", nil)
			c.must(404, "POST", "/config/revisions/7/rollback", nil)
			require.EqualValues(t, 7, c.must(200, "GET", "/config/revisions", nil)["data"].([]any)[0].(map[string]any)["revision"])
		})
	}
}

func TestRevisionRetention(t *testing.T) {
	t.Parallel()
	for _, b := range historyBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: time.Unix(1790000000, 0)}
			c := newHistoryClient(t, b, history.Retention{Revisions: 3, Age: 48 * time.Hour}, clk)
			for _, n := range []string{"a", "b", "c", "d", "e"} {
				c.must(201, "POST", "/services", map[string]any{"name": n, "host": n + ".internal"})
				c.publish()
				clk.add(time.Hour)
			}
			data := c.must(200, "GET", "/config/revisions", nil)["data"].([]any)
			require.Len(t, data, 3)
			require.EqualValues(t, 3, data[2].(map[string]any)["revision"])
			for _, p := range []string{"/config/revisions/2", "/config/revisions/1/config", "/config/revisions/1/diff/5"} {
				r := c.do("GET", p, nil)
				require.Equal(t, 410, r.status, "%s: %s", p, r.raw)
				require.Contains(t, r.body["message"], "expired", "Kong's error format: a message")
			}
			r := c.do("POST", "/config/revisions/2/rollback", nil)
			require.Equal(t, 410, r.status, "%s", r.raw)

			// Age: revisions 3 and 4 (published at +2 h, +3 h) pass 48
			// hours before 5 (+4 h); the clock is at +5 h.
			clk.add(46*time.Hour + 30*time.Minute)
			c.must(410, "GET", "/config/revisions/4", nil)
			c.must(410, "GET", "/config/revisions/3", nil)
			c.must(200, "GET", "/config/revisions/5", nil)
			require.Len(t, c.must(200, "GET", "/config/revisions", nil)["data"], 1)
		})
	}
}
