package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// testForeignObjects replays what decK and go-kong send: foreign keys as
// whole objects (go-kong's Route.Service is a *Service, decK sends the
// service it read). Kong keeps the object's primary key
// (kong/db/schema/init.lua validate_primary_key), resolves an object
// without an id by the referenced entity's unique fields
// (kong/db/dao/init.lua resolve_foreign) and names errors inside the
// object by path.
func testForeignObjects(t *testing.T, c *client) {
	svc := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "example.com"})
	other := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "other", "host": "example.org"})
	alice := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice", "custom_id": "a-1"})
	certPEM, keyPEM := selfSigned(t, "example.com")
	cert := c.must(http.StatusCreated, "POST", "/certificates", map[string]any{"cert": certPEM, "key": keyPEM})
	ca := c.must(http.StatusCreated, "POST", "/ca_certificates", map[string]any{"cert": certPEM})
	ref := func(b map[string]any) map[string]any { return map[string]any{"id": b["id"]} }

	// decK's route: the service as it read it, every field included.
	route := c.must(http.StatusCreated, "POST", "/routes", map[string]any{
		"name": "r", "paths": []any{"/r"}, "hosts": []any{"API.Example.COM"},
		"service": svc,
	})
	require.Equal(t, ref(svc), route["service"], "only the primary key is kept")
	require.Equal(t, []any{"API.Example.COM"}, route["hosts"], "hosts keep their case")
	require.Equal(t, []any{"API.Example.COM"}, c.must(http.StatusOK, "GET", "/routes/r", nil)["hosts"])

	sni := c.must(http.StatusCreated, "POST", "/snis", map[string]any{
		"name": "example.com", "certificate": map[string]any{"id": cert["id"], "cert": certPEM}})
	require.Equal(t, ref(cert), sni["certificate"])

	plugin := c.must(http.StatusCreated, "POST", "/plugins", map[string]any{
		"name": "rate-limiting", "config": map[string]any{"minute": 5},
		"route": route, "service": map[string]any{"id": svc["id"], "name": "svc"},
		"consumer": map[string]any{"id": alice["id"], "username": "alice"},
	})
	require.Equal(t, ref(route), plugin["route"])
	require.Equal(t, ref(alice), plugin["consumer"])

	cred := c.must(http.StatusCreated, "POST", "/key-auths", map[string]any{"key": "k-1", "consumer": alice})
	require.Equal(t, ref(alice), cred["consumer"])

	up := c.must(http.StatusCreated, "POST", "/upstreams", map[string]any{
		"name": "up", "client_certificate": map[string]any{"id": cert["id"], "cert": certPEM, "key": keyPEM}})
	require.Equal(t, ref(cert), up["client_certificate"])

	tls := c.must(http.StatusCreated, "POST", "/services", map[string]any{
		"name": "tls", "url": "https://example.net", "ca_certificates": []any{map[string]any{"id": ca["id"], "cert": certPEM}}})
	require.Equal(t, []any{ca["id"]}, tls["ca_certificates"], "ca_certificates elements keep their id")
	mixed := c.must(http.StatusOK, "PATCH", "/services/tls", map[string]any{"ca_certificates": []any{ca["id"], map[string]any{"id": ca["id"]}}})
	require.Equal(t, []any{ca["id"], ca["id"]}, mixed["ca_certificates"], "ids and objects mix")

	// By unique field, on writes: Kong resolves {"name": …} to the id.
	byName := c.must(http.StatusCreated, "POST", "/routes", map[string]any{
		"paths": []any{"/by-name"}, "service": map[string]any{"name": "other"}})
	require.Equal(t, ref(other), byName["service"])
	byCustomID := c.must(http.StatusCreated, "POST", "/acls", map[string]any{
		"group": "g", "consumer": map[string]any{"custom_id": "a-1"}})
	require.Equal(t, ref(alice), byCustomID["consumer"])

	// PATCH replaces a foreign key, whatever else the object carries.
	moved := c.must(http.StatusOK, "PATCH", "/routes/r", map[string]any{"service": other})
	require.Equal(t, ref(other), moved["service"])

	before := c.revision()
	tests := []struct {
		desc   string
		path   string
		body   map[string]any
		status int
		code   float64
		msg    string
		fields map[string]any
	}{
		{desc: "a name that finds nothing", path: "/routes",
			body:   map[string]any{"paths": []any{"/x"}, "service": map[string]any{"name": "nope"}},
			status: 400, code: 13,
			msg:    `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="nope"}' for an existing 'services' entity)`,
			fields: map[string]any{"service": map[string]any{"name": `the foreign key cannot be resolved with '{name="nope"}' for an existing 'services' entity`}}},
		{desc: "an object with neither id nor unique field", path: "/routes",
			body:   map[string]any{"paths": []any{"/x"}, "service": map[string]any{"host": "example.com"}},
			status: 400, code: 2, msg: "schema violation (service.id: missing primary key)",
			fields: map[string]any{"service": map[string]any{"id": "missing primary key"}}},
		{desc: "an error inside the object is named by path", path: "/routes",
			body:   map[string]any{"paths": []any{"/x"}, "service": map[string]any{"name": "bad name!", "port": 99999}},
			status: 400, code: 2},
		{desc: "an id that is not a UUID", path: "/routes",
			body:   map[string]any{"paths": []any{"/x"}, "service": map[string]any{"id": "nope"}},
			status: 400, code: 2, msg: "schema violation (service.id: expected a valid UUID)"},
	}
	for _, tc := range tests {
		r := c.do("POST", tc.path, tc.body)
		requireCode(t, r, tc.status, tc.code)
		if tc.msg != "" {
			require.Equal(t, tc.msg, r.body["message"], tc.desc)
		}
		if tc.fields != nil {
			require.Equal(t, tc.fields, r.body["fields"], tc.desc)
		}
		if tc.desc == "an error inside the object is named by path" {
			svcErrs := r.body["fields"].(map[string]any)["service"].(map[string]any)
			require.Contains(t, svcErrs, "name", tc.desc)
			require.Equal(t, "value should be between 0 and 65535", svcErrs["port"], tc.desc)
		}
	}
	require.Equal(t, before, c.revision(), "refused writes change nothing")
}

// testSchemaValidate replays decK's `gateway validate`: every entity goes
// to /schemas/{entity}/validate with its foreign keys as whole objects;
// Kong validates only their primary keys and reads nothing
// (kong/api/routes/kong.lua validate_schema).
func testSchemaValidate(t *testing.T, c *client) {
	svc := map[string]any{"id": "5f8c3c1e-0c5b-4a8e-9b6a-3d1f2e4a5b6c", "name": "svc", "host": "example.com", "connect_timeout": 60000}
	consumer := map[string]any{"id": "0b1f3c52-8a4e-4d6b-9f7a-2c3d4e5f6a7b", "username": "alice"}
	ok := []struct {
		path string
		body map[string]any
	}{
		{"/schemas/routes/validate", map[string]any{"name": "r", "paths": []any{"/r"}, "service": svc}},
		{"/schemas/plugins/validate", map[string]any{"name": "key-auth", "service": svc, "config": map[string]any{"key_names": []any{"apikey"}}}},
		{"/schemas/keyauth_credentials/validate", map[string]any{"key": "k", "consumer": consumer}},
		{"/schemas/acls/validate", map[string]any{"group": "g", "consumer": consumer}},
		{"/schemas/services/validate", map[string]any{"host": "example.com"}},
	}
	for _, tc := range ok {
		require.Equal(t, map[string]any{"message": "schema validation successful"}, c.must(http.StatusOK, "POST", tc.path, tc.body), tc.path)
	}
	r := c.do("POST", "/schemas/routes/validate", map[string]any{"paths": []any{"/ok", "bad"}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, "schema violation (paths.2: should start with: / (fixed path) or ~/ (regex path))", r.body["message"])
	require.Equal(t, map[string]any{"paths": []any{nil, "should start with: / (fixed path) or ~/ (regex path)"}}, r.body["fields"])

	// Kong's own spec (spec/02-integration/04-admin_api/02-kong_routes_spec.lua):
	// an invalid plugin config is a schema violation.
	r = c.do("POST", "/schemas/plugins/validate", map[string]any{"name": "key-auth", "config": map[string]any{"keys": "foo"}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, "schema violation (config.keys: unknown field)", r.body["message"])
	r = c.do("POST", "/schemas/plugins/validate", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 0}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, map[string]any{"config": map[string]any{"minute": "value must be greater than 0"}}, r.body["fields"])
	// response-transformer's custom validator on rename.headers
	// (validate_colon_headers): an entry without a new name.
	r = c.do("POST", "/schemas/plugins/validate", map[string]any{"name": "response-transformer",
		"config": map[string]any{"rename": map[string]any{"headers": []any{"x-a::x-b", "x-a:"}}}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, "schema violation (config.rename.headers.2: '' is not a valid header)", r.body["message"])
	require.Equal(t, map[string]any{"config": map[string]any{"rename": map[string]any{"headers": []any{nil, "'' is not a valid header"}}}}, r.body["fields"])

	r = c.do("POST", "/schemas/routes/validate", map[string]any{"paths": []any{"/r"}, "service": map[string]any{"name": "svc"}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, "schema violation (service.id: missing primary key)", r.body["message"], "validation resolves nothing")
	require.Equal(t, int64(0), c.revision())
}
