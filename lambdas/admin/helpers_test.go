package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// backend starts one kind of store for a test run and returns an opener
// of empty stores on it.
type backend struct {
	name  string
	start func(t *testing.T) func(t *testing.T) store.Store
}

// backends lists every store the Admin API is tested against.
var backends = []backend{
	{"embedded", func(*testing.T) func(t *testing.T) store.Store { return openEmbedded }},
	{"dynamodb", startDynamo},
}

func openEmbedded(t *testing.T) store.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "cp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var tables atomic.Int64

// startDynamo starts the emulator; every store is a fresh table on it.
func startDynamo(t *testing.T) func(t *testing.T) store.Store {
	srv := motoserver.Start(t)
	client := dynamodb.NewFromConfig(srv.SerialConfig())
	return func(t *testing.T) store.Store {
		t.Helper()
		s := dynamo.New(client, fmt.Sprintf("skyport-admin-%d", tables.Add(1)))
		require.NoError(t, s.CreateTable(context.Background()))
		return s
	}
}

// suites run against a fresh Admin API on every backend.
var suites = []struct {
	name string
	fn   func(t *testing.T, c *client)
}{
	{"EntityCRUD", testEntityCRUD},
	{"PutByEndpointKey", testPutByEndpointKey},
	{"BasicAuthPasswordIsHashed", testBasicAuthPasswordIsHashed},
	{"GeneratedCredentials", testGeneratedCredentials},
	{"NestedCollections", testNestedCollections},
	{"ConsumerCredentials", testConsumerCredentials},
	{"UpstreamTargets", testUpstreamTargets},
	{"CertificateSNIs", testCertificateSNIs},
	{"Pagination", testPagination},
	{"TagsFilter", testTagsFilter},
	{"ListFilters", testListFilters},
	{"ForeignObjects", testForeignObjects},
	{"SchemaValidate", testSchemaValidate},
	{"FormBodies", testFormBodies},
	{"Errors", testErrors},
	{"PlainErrors", testPlainErrors},
	{"DeclarativeConfig", testDeclarativeConfig},
	{"DeclarativeConfigErrors", testDeclarativeConfigErrors},
	{"Status", testStatus},
	{"Plugins", testPlugins},
	{"ConcurrentPatches", testConcurrentPatches},
	{"CredentialDeleteRace", testCredentialDeleteRace},
	{"LongValues", testLongValues},
	{"ACLByGroup", testACLByGroup},
	{"HMACAndOAuth2", testHMACAndOAuth2},
	{"KeysAndKeySets", testKeysAndKeySets},
	{"Vaults", testVaults},
	{"Tags", testTags},
	{"PluginByInstanceName", testPluginByInstanceName},
	{"KeyAuthTTL", testKeyAuthTTL},
	{"UpstreamHealth", testUpstreamHealth},
	{"OAuth2PluginRefused", testOAuth2PluginRefused},
	{"EndpointsAndVaultSchemas", testEndpointsAndVaultSchemas},
}

// TestAdminAPI runs every suite over real HTTP on every backend.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open := b.start(t)
			for _, s := range suites {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					c := newClient(t, open(t), admin.Options{})
					c.emulated = b.name == "dynamodb"
					s.fn(t, c)
				})
			}
		})
	}
}

// fixedNow is the clock of every test handler.
var fixedNow = time.Unix(1700000000, 0)

// client talks to an Admin API served over real HTTP.
type client struct {
	t     *testing.T
	url   string
	store store.Store
	// emulated is set on the emulator, where every store call is an
	// HTTP request made one at a time: long races run fewer rounds there.
	emulated bool
}

func newClient(t *testing.T, s store.Store, opts admin.Options) *client {
	t.Helper()
	opts.Store = s
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	srv := httptest.NewServer(admin.New(opts))
	t.Cleanup(srv.Close)
	return &client{t: t, url: srv.URL, store: s}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends body as JSON (a string is sent as is, with contentType).
func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case formBody:
		rd, ct = strings.NewReader(b.data), b.contentType
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.url+path, rd)
	require.NoError(c.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(c.t, json.Unmarshal(raw, &out.body), "body %s", raw)
	}
	c.requireRevisionHeader(method, path, out)
	return out
}

// requireRevisionHeader checks that a successful write names the revision
// it committed: the store's current one, since a client's requests run
// one at a time.
func (c *client) requireRevisionHeader(method, path string, r response) {
	c.t.Helper()
	if method == http.MethodGet || method == http.MethodHead || r.status >= http.StatusBadRequest {
		return
	}
	require.Equal(c.t, strconv.FormatInt(c.revision(), 10), r.header.Get(admin.HeaderRevision),
		"%s %s answered %d: %s", method, path, r.status, r.raw)
}

// must sends a request and requires the status.
func (c *client) must(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	r := c.do(method, path, body)
	require.Equal(c.t, status, r.status, "%s %s: %s", method, path, r.raw)
	return r.body
}

// revision is the store's current revision.
func (c *client) revision() int64 {
	c.t.Helper()
	rev, err := c.store.Revision(context.Background())
	require.NoError(c.t, err)
	return rev
}

// formBody is a request body with its own content type.
type formBody struct {
	contentType string
	data        string
}

func form(data string) formBody {
	return formBody{contentType: "application/x-www-form-urlencoded", data: data}
}

// requireCode asserts Kong's error body.
func requireCode(t *testing.T, r response, status int, code float64) {
	t.Helper()
	require.Equal(t, status, r.status, "%s", r.raw)
	require.Equal(t, code, r.body["code"], "%s", r.raw)
	require.NotEmpty(t, r.body["name"], "%s", r.raw)
	require.NotEmpty(t, r.body["message"], "%s", r.raw)
}
