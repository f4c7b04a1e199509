package pluginschema_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// fill completes cfg from a config record's schema the way decK and
// go-kong do before comparing with what the Admin API returns
// (go-kong's kong/utils.go fillConfigRecord): a field that is absent gets
// its default (the record's default for it first), or null; a record is
// filled when it is required or given, and so is each record of a map of
// records.
func fill(record map[string]any, cfg map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	recordDefault, _ := record["default"].(map[string]any)
	for _, f := range record["fields"].([]any) {
		for name, d := range f.(map[string]any) {
			def := d.(map[string]any)
			given, ok := cfg[name]
			if def["type"] == "record" && (given != nil || def["required"] == true) {
				sub, _ := given.(map[string]any)
				out[name] = fill(def, sub)
				continue
			}
			if vals, isRec := def["values"].(map[string]any); def["type"] == "map" && isRec && vals["type"] == "record" {
				if m, isMap := given.(map[string]any); isMap {
					filled := map[string]any{}
					for k, v := range m {
						sub, _ := v.(map[string]any)
						filled[k] = fill(vals, sub)
					}
					out[name] = filled
					continue
				}
			}
			if ok {
				continue
			}
			if el, _ := def["elements"].(map[string]any); el["type"] == "record" && def["default"] != nil {
				// Kong answers a default list of records with each
				// record's absent fields as null; decK ignores nulls.
				var list []any
				for _, e := range def["default"].([]any) {
					list = append(list, fill(el, e.(map[string]any)))
				}
				out[name] = list
				continue
			}
			if v, has := recordDefault[name]; has {
				out[name] = v
				continue
			}
			out[name] = def["default"]
		}
	}
	return out
}

func configRecord(t *testing.T, doc json.RawMessage) map[string]any {
	t.Helper()
	var d struct {
		Fields []map[string]map[string]any `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(doc, &d))
	for _, f := range d.Fields {
		if c, ok := f["config"]; ok {
			return c
		}
	}
	t.Fatal("no config field")
	return nil
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestDocDefaultsAreNormalizes: what a client fills from the schema the
// Admin API serves is exactly what the Admin API stores, so decK's diff
// is clean after a sync.
func TestDocDefaultsAreNormalizes(t *testing.T) {
	t.Parallel()
	minimal := map[string]map[string]any{
		"acl":                   {"allow": []any{"admin"}},
		"ip-restriction":        {"deny": []any{"10.0.0.0/8"}},
		"rate-limiting":         {"minute": 10.0},
		"proxy-cache":           {"strategy": "memory"},
		"redirect":              {"location": "https://example.com"},
		"response-ratelimiting": {"limits": map[string]any{"videos": map[string]any{"minute": 10.0}}},
		"http-log":              {"http_endpoint": "http://logs.example/x"},
		"file-log":              {"path": "/var/log/skyport.log"},
		"tcp-log":               {"host": "logs.example", "port": 514.0},
		"udp-log":               {"host": "10.0.0.1", "port": 514.0},
		"opentelemetry":         {"traces_endpoint": "http://otel.example:4318/v1/traces"},
	}
	for _, name := range pluginschema.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := pluginschema.Lookup(name)
			out, errs := s.Normalize(minimal[name])
			require.Empty(t, errs)
			require.JSONEq(t, asJSON(t, fill(configRecord(t, s.Doc), minimal[name])), asJSON(t, out))
		})
	}
}

func TestShorthandFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		cfg  map[string]any
		want map[string]any // of config.redis
		errs map[string]string
	}{
		{desc: "a deprecated field moves to its replacement",
			cfg:  map[string]any{"minute": 5.0, "redis_host": "cache.local", "redis_port": 6380.0},
			want: map[string]any{"host": "cache.local", "port": 6380.0}},
		{desc: "both given and equal",
			cfg:  map[string]any{"minute": 5.0, "redis_host": "a", "redis": map[string]any{"host": "a"}},
			want: map[string]any{"host": "a"}},
		{desc: "both given and different",
			cfg: map[string]any{"minute": 5.0, "redis_host": "a", "redis": map[string]any{"host": "b"}},
			errs: map[string]string{"config.redis_host": "both deprecated and new field are used but their values mismatch: " +
				"redis_host = a vs redis.host = b"}},
		{desc: "a shorthand of the wrong type",
			cfg:  map[string]any{"minute": 5.0, "redis_port": "x"},
			errs: map[string]string{"config.redis_port": "expected an integer"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			out, errs, _ := pluginschema.Normalize("rate-limiting", tc.cfg)
			if tc.errs != nil {
				require.Equal(t, tc.errs, errs)
				return
			}
			require.Empty(t, errs)
			require.NotContains(t, out, "redis_host", "shorthands are input only")
			redis := out["redis"].(map[string]any)
			for k, v := range tc.want {
				require.Equal(t, v, redis[k], k)
			}
			require.Equal(t, 2000.0, redis["timeout"], "the other fields keep their defaults")
		})
	}
}

func TestKongValidators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		plugin string
		cfg    map[string]any
		want   map[string]string
	}{
		{"gt", "rate-limiting", map[string]any{"minute": 0.0}, map[string]string{"config.minute": "value must be greater than 0"}},
		{"empty string", "key-auth", map[string]any{"realm": ""}, map[string]string{"config.realm": "length must be at least 1"}},
		{"len_min 0 allows empty", "rate-limiting", map[string]any{"minute": 1.0, "redis": map[string]any{"password": ""}}, nil},
		{"starts_with", "rate-limiting", map[string]any{"minute": 1.0, "limit_by": "path", "path": "x"}, map[string]string{"config.path": "should start with: /"}},
		{"match_none", "rate-limiting", map[string]any{"minute": 1.0, "limit_by": "path", "path": "/a//b"}, map[string]string{"config.path": "must not have empty segments"}},
		{"lua pattern", "request-transformer", map[string]any{"http_method": "get"}, map[string]string{"config.http_method": "invalid value: get"}},
		{"lua pattern on elements", "request-transformer", map[string]any{"add": map[string]any{"headers": []any{"no-colon"}}}, map[string]string{"config.add.headers.1": "invalid value: no-colon"}},
		// response-transformer's validate_colon_headers on rename.headers:
		// both names, every colon after the first skipped, are header
		// names; the other lists only need a colon after a name.
		{"rename headers: double colon", "response-transformer", map[string]any{"rename": map[string]any{"headers": []any{"x-a::x_b"}},
			"add": map[string]any{"headers": []any{"x::b", "y:"}, "json": []any{"k::v"}}}, nil},
		{"rename headers: no new name", "response-transformer", map[string]any{"rename": map[string]any{"headers": []any{"x-a:x-b", "x-a:", "x-a::"}}},
			map[string]string{"config.rename.headers.2": "'' is not a valid header", "config.rename.headers.3": "'' is not a valid header"}},
		{"rename headers: bad names", "response-transformer", map[string]any{"rename": map[string]any{"headers": []any{"x a:b", "a:b.c"}}},
			map[string]string{"config.rename.headers.1": "'x a' is not a valid header", "config.rename.headers.2": "'b.c' is not a valid header"}},
		{"rename headers: no colon", "response-transformer", map[string]any{"rename": map[string]any{"headers": []any{"x-a"}}},
			map[string]string{"config.rename.headers.1": "invalid value: x-a"}},
		{"add: empty name", "response-transformer", map[string]any{"add": map[string]any{"headers": []any{":v"}}},
			map[string]string{"config.add.headers.1": "invalid value: :v"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, errs, _ := pluginschema.Normalize(tc.plugin, tc.cfg)
			if tc.want == nil {
				require.Empty(t, errs)
				return
			}
			require.Equal(t, tc.want, errs)
		})
	}
}
