package model_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/skyport-gw/skyport/internal/model"
)

const uuidA = "0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b"

func TestConsumerValidate(t *testing.T) {
	runValid(t, func() *model.Consumer { return &model.Consumer{Username: model.String("alice")} },
		[]validCase[*model.Consumer]{
			{desc: "username"},
			{desc: "custom id only", mutate: func(c *model.Consumer) { c.Username, c.CustomID = nil, model.String("x") }},
			{desc: "neither", mutate: func(c *model.Consumer) { c.Username = nil },
				want: map[string]string{"@entity": "at least one of these fields must be non-empty: 'custom_id', 'username'"}},
			{desc: "empty username", mutate: func(c *model.Consumer) { c.Username, c.CustomID = model.String(""), model.String("x") },
				want: map[string]string{"username": "length must be at least 1"}},
		})
}

func TestPluginValidate(t *testing.T) {
	runValid(t, func() *model.Plugin {
		p := model.NewPlugin()
		p.Name = "no-such-plugin"
		return p
	}, []validCase[*model.Plugin]{
		{desc: "unknown plugin", want: map[string]string{
			"name": "plugin 'no-such-plugin' is not supported; supported plugins: acl, aws-lambda, basic-auth, "}},
		{desc: "name missing", mutate: func(p *model.Plugin) { p.Name = "" },
			want: map[string]string{"name": "required field missing"}},
		{desc: "protocols and scope", mutate: func(p *model.Plugin) {
			p.Protocols = []string{"http", "gopher"}
			p.Service = &model.Ref{ID: "nope"}
			p.Consumer = &model.Ref{}
		}, want: map[string]string{
			"name": "is not supported", "protocols.2": "expected one of:",
			"service.id": "expected a valid UUID", "consumer": "required field missing",
		}},
	})
}

func TestUpstreamValidate(t *testing.T) {
	runValid(t, func() *model.Upstream {
		u := model.NewUpstream()
		u.Name = "Pool.Internal"
		return u
	}, []validCase[*model.Upstream]{
		{desc: "valid"},
		{desc: "name missing", mutate: func(u *model.Upstream) { u.Name = "" },
			want: map[string]string{"name": "required field missing"}},
		{desc: "name not a host", mutate: func(u *model.Upstream) { u.Name = "a b" },
			want: map[string]string{"name": "must be a valid hostname"}},
		{desc: "algorithm and slots", mutate: func(u *model.Upstream) { u.Algorithm, u.Slots = "random", 9 },
			want: map[string]string{
				"algorithm": "expected one of: consistent-hashing, least-connections, round-robin, latency",
				"slots":     "value should be between 10 and 65536",
			}},
		{desc: "hash on header needs the header", mutate: func(u *model.Upstream) { u.HashOn = "header" },
			want: map[string]string{"hash_on_header": "required field missing"}},
		{desc: "hash on header with fallback", mutate: func(u *model.Upstream) {
			u.HashOn, u.HashOnHeader, u.HashFallback = "header", model.String("x-a"), "query_arg"
		}, want: map[string]string{"hash_fallback_query_arg": "required field missing"}},
		{desc: "cookie", mutate: func(u *model.Upstream) { u.HashOn = "cookie"; u.HashOnCookie = model.String("c") }},
		{desc: "cookie needs name, no fallback", mutate: func(u *model.Upstream) { u.HashOn, u.HashFallback = "cookie", "ip" },
			want: map[string]string{"hash_on_cookie": "required field missing", "hash_fallback": "expected one of: none"}},
		{desc: "none has no fallback", mutate: func(u *model.Upstream) { u.HashFallback = "ip" },
			want: map[string]string{"hash_fallback": "expected one of: none"}},
		{desc: "same hash twice", mutate: func(u *model.Upstream) { u.HashOn, u.HashFallback = "ip", "ip" },
			want: map[string]string{"@entity": "values of these fields must be distinct: 'hash_on', 'hash_fallback'"}},
		{desc: "healthchecks", mutate: func(u *model.Upstream) {
			u.Healthchecks.Active.Type = "udp"
			u.Healthchecks.Active.Concurrency = 0
			u.Healthchecks.Active.Healthy.Successes = 256
			u.Healthchecks.Passive.Unhealthy.HTTPStatuses = []int{500, 1000}
			u.Healthchecks.Threshold = 101
		}, want: map[string]string{
			"healthchecks.active.type":                       "expected one of: tcp, http, https, grpc, grpcs",
			"healthchecks.active.concurrency":                "value should be between 1 and 2147483648",
			"healthchecks.active.healthy.successes":          "value should be between 0 and 255",
			"healthchecks.passive.unhealthy.http_statuses.2": "value should be between 100 and 999",
			"healthchecks.threshold":                         "value should be between 0 and 100",
		}},
	})
}

func TestTarget(t *testing.T) {
	fresh := func() *model.Target {
		tg := model.NewTarget()
		tg.Upstream = &model.Ref{ID: uuidA}
		return tg
	}
	runValid(t, fresh, []validCase[*model.Target]{
		{desc: "host", mutate: func(tg *model.Target) { tg.Target = "a.local" }},
		{desc: "ipv6", mutate: func(tg *model.Target) { tg.Target = "[::1]:80" }},
		{desc: "missing", want: map[string]string{"target": "required field missing"}},
		{desc: "bad host", mutate: func(tg *model.Target) { tg.Target = "a b:1" },
			want: map[string]string{"target": "not a valid hostname or ip address"}},
		{desc: "bad port", mutate: func(tg *model.Target) { tg.Target = "a:70000" },
			want: map[string]string{"target": "value should be between 0 and 65535"}},
		{desc: "weight and upstream", mutate: func(tg *model.Target) { tg.Target, tg.Weight, tg.Upstream = "a", 65536, nil },
			want: map[string]string{"weight": "value should be between 0 and 65535", "upstream": "required field missing"}},
	})
	defaultPort := strconv.Itoa(model.DefaultTargetPort)
	for in, want := range map[string]string{
		"a.local": "a.local:" + defaultPort, "A.local:81": "a.local:81", "10.0.0.1": "10.0.0.1:" + defaultPort,
		"[::1]": "[::1]:" + defaultPort, "::1": "[::1]:" + defaultPort, "[::1]:9": "[::1]:9",
	} {
		tg := fresh()
		tg.Target = in
		tg.Normalize()
		if tg.Target != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, tg.Target, want)
		}
	}
}

func TestPluginNoConsumerScope(t *testing.T) {
	t.Parallel()
	p := model.NewPlugin()
	p.Name = "key-auth"
	p.Consumer = &model.Ref{ID: "6f4d3c1e-3b7e-4e57-9d0d-000000000001"}
	err := p.Validate()
	var me *model.Error
	if !errors.As(err, &me) || me.Fields["consumer"] != "value must be null" {
		t.Fatalf("key-auth scoped to a consumer: got %v", err)
	}
	q := model.NewPlugin()
	q.Name = "rate-limiting"
	q.Config = map[string]any{"minute": 5}
	q.Consumer = &model.Ref{ID: "6f4d3c1e-3b7e-4e57-9d0d-000000000001"}
	if err := q.Validate(); err != nil {
		t.Fatalf("rate-limiting scoped to a consumer refused: %v", err)
	}
}
