package main

import (
	"flag"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
)

func TestLimitFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		desc    string
		args    []string
		want    proxy.Limits
		wantErr string
	}{
		{desc: "nginx's defaults, as Kong runs them", want: proxy.Limits{HeaderBufferSize: 8 << 10, HeaderBuffers: 4,
			HeaderTimeout: 60 * time.Second, BodyTimeout: 60 * time.Second, KeepaliveTimeout: 75 * time.Second, BodyBufferSize: 8 << 10,
			H2MaxConcurrentStreams: 128}},
		{desc: "every flag", args: []string{"--large-client-header-buffers", "8 16k", "--keepalive-timeout", "5s",
			"--client-header-timeout", "6s", "--client-body-timeout", "7s", "--client-max-body-size", "10m",
			"--client-body-buffer-size", "1M", "--proxy-temp-dir", dir, "--http2-max-concurrent-streams", "64"},
			want: proxy.Limits{HeaderBufferSize: 16 << 10, HeaderBuffers: 8, HeaderTimeout: 6 * time.Second,
				BodyTimeout: 7 * time.Second, KeepaliveTimeout: 5 * time.Second, MaxBodySize: 10 << 20,
				BodyBufferSize: 1 << 20, TempDir: dir, H2MaxConcurrentStreams: 64}},
		{desc: "negative HTTP/2 streams", args: []string{"--http2-max-concurrent-streams", "-1"}, wantErr: "want 1 to 65536"},
		{desc: "buffers without a size", args: []string{"--large-client-header-buffers", "4"}, wantErr: "want a number and a size"},
		{desc: "buffers too small", args: []string{"--large-client-header-buffers", "4 100"}, wantErr: "want a number and a size"},
		{desc: "a size with a bad unit", args: []string{"--client-max-body-size", "10x"}, wantErr: "want a size"},
		{desc: "a negative size", args: []string{"--client-body-buffer-size", "-1"}, wantErr: "want a size"},
		{desc: "a missing temporary directory", args: []string{"--proxy-temp-dir", filepath.Join(dir, "missing")}, wantErr: "--proxy-temp-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var o dpOptions
			fs := flag.NewFlagSet("dp", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.register(fs)
			err := fs.Parse(tt.args)
			var got proxy.Limits
			if err == nil {
				got, err = o.limits()
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestLocalHasLimitFlags: the built-in data plane of "skyport local"
// takes the same limits.
func TestLocalHasLimitFlags(t *testing.T) {
	t.Parallel()
	var o localOptions
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	o.register(fs)
	require.NoError(t, fs.Parse([]string{"--keepalive-timeout", "3s", "--client-max-body-size", "1k"}))
	dpo := builtinDP(&o, &clusterListener{local: "127.0.0.1:1"}, "file:///x", nil)
	l, err := dpo.limits()
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, l.KeepaliveTimeout)
	assert.EqualValues(t, 1024, l.MaxBodySize)
	assert.Equal(t, "4 8k", fs.Lookup("large-client-header-buffers").DefValue)
}
