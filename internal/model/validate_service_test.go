package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	svc := model.NewService()
	require.Equal(t, &model.Service{Retries: 5, Protocol: "http", Port: 80, ConnectTimeout: 60000,
		WriteTimeout: 60000, ReadTimeout: 60000, Enabled: true}, svc)
	r := model.NewRoute()
	require.Equal(t, []string{"http", "https"}, r.Protocols)
	require.True(t, r.StripPath && r.RequestBuffering && r.ResponseBuffering)
	require.False(t, r.PreserveHost)
	require.Equal(t, "v0", r.PathHandling)
	require.Equal(t, 426, r.HTTPSRedirectStatusCode)
	p := model.NewPlugin()
	require.Equal(t, []string{"grpc", "grpcs", "http", "https"}, p.Protocols)
	require.True(t, p.Enabled)
	u := model.NewUpstream()
	require.Equal(t, "round-robin", u.Algorithm)
	require.Equal(t, 10000, u.Slots)
	require.Equal(t, "none", u.HashOn)
	require.Equal(t, "/", u.HashOnCookiePath)
	require.Equal(t, []int{200, 302}, u.Healthchecks.Active.Healthy.HTTPStatuses)
	require.Equal(t, 100, model.NewTarget().Weight)
	require.Equal(t, "HS256", model.NewJWTSecret().Algorithm)
	for _, k := range model.Kinds {
		e, err := model.New(k)
		require.NoError(t, err)
		require.Equal(t, k, e.Kind())
		require.Empty(t, e.Meta().ID)
	}
	_, err := model.New("nope")
	require.Error(t, err)
}

func TestServiceNormalizeURL(t *testing.T) {
	tests := []struct {
		desc, url, protocol, host string
		port                      int
		path                      *string
	}{
		{"http", "http://example.com", "http", "example.com", 80, nil},
		{"https", "https://Example.com/a/b", "https", "Example.com", 443, model.String("/a/b")},
		{"port", "grpc://10.0.0.1:9000", "grpc", "10.0.0.1", 9000, nil},
		{"ipv6", "http://[::1]:81/", "http", "::1", 81, model.String("/")},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s := model.NewService()
			s.URL = tc.url
			s.Normalize()
			require.Equal(t, tc.protocol, s.Protocol)
			require.Equal(t, tc.host, s.Host)
			require.Equal(t, tc.port, s.Port)
			require.Equal(t, tc.path, s.Path)
			require.Empty(t, s.URL)
		})
	}
}

func TestServiceValidate(t *testing.T) {
	fresh := func() *model.Service {
		s := model.NewService()
		s.Host = "example.com"
		return s
	}
	runValid(t, fresh, []validCase[*model.Service]{
		{desc: "valid"},
		{desc: "valid with everything", mutate: func(s *model.Service) {
			s.ID = "0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b"
			s.Name = model.String("orders.v1~x_y-z")
			s.Path = model.String("/api")
			s.Tags = []string{"a", "b-c"}
			s.TLSVerifyDepth = model.Int(3)
		}},
		{desc: "host missing", mutate: func(s *model.Service) { s.Host = "" },
			want: map[string]string{"host": "required field missing"}},
		{desc: "bad id", mutate: func(s *model.Service) { s.ID = "123" },
			want: map[string]string{"id": "expected a valid UUID"}},
		{desc: "bad url", mutate: func(s *model.Service) { s.URL = "not a url" },
			want: map[string]string{"url": "missing host"}},
		{desc: "ranges", mutate: func(s *model.Service) {
			s.Port, s.Retries, s.ReadTimeout, s.WriteTimeout, s.ConnectTimeout = 65536, 32768, 0, 2147483647, -1
		}, want: map[string]string{
			"port": "value should be between 0 and 65535", "retries": "value should be between 0 and 32767",
			"read_timeout":    "value should be between 1 and 2147483646",
			"write_timeout":   "value should be between 1 and 2147483646",
			"connect_timeout": "value should be between 1 and 2147483646",
		}},
		{desc: "protocol", mutate: func(s *model.Service) { s.Protocol = "ftp" },
			want: map[string]string{"protocol": "expected one of: grpc, grpcs, http, https"}},
		{desc: "path", mutate: func(s *model.Service) { s.Path = model.String("api") },
			want: map[string]string{"path": "should start with: /"}},
		{desc: "path on tcp", mutate: func(s *model.Service) { s.Protocol, s.Path = "tcp", model.String("/x") },
			want: map[string]string{"path": "value must be null"}},
		{desc: "name charset", mutate: func(s *model.Service) { s.Name = model.String("a b") },
			want: map[string]string{"name": "the only accepted ascii characters are alphanumerics or ., -, _, and ~"}},
		{desc: "tags", mutate: func(s *model.Service) { s.Tags = []string{"ok", "a/b", ""} },
			want: map[string]string{"tags.2": "invalid tag 'a/b'", "tags.3": "invalid tag ''"}},
		{desc: "host charset", mutate: func(s *model.Service) { s.Host = "bad_host!" },
			want: map[string]string{"host": "invalid value"}},
		{desc: "ca certificate ids", mutate: func(s *model.Service) { s.CACertificates = []string{"x"} },
			want: map[string]string{"ca_certificates.1": "expected a valid UUID"}},
	})
}
