package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

type nopApplier struct{}

func (nopApplier) Apply(context.Context, *model.Config, int64, string) error { return nil }
func (nopApplier) Current() (int64, string)                                  { return 0, "" }

func TestStartSyncFlags(t *testing.T) {
	t.Parallel()
	pub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pemPub, err := snapshot.MarshalPublicKey(pub)
	require.NoError(t, err)
	key := string(pemPub)
	dir := "file://" + t.TempDir()

	tests := []struct {
		desc     string
		opts     dpOptions
		wantErr  string
		wantNone bool
	}{
		{desc: "nothing configured", opts: dpOptions{}, wantNone: true},
		{desc: "declarative alone", opts: dpOptions{DeclarativeConfig: "kong.yml"}, wantNone: true},
		{desc: "declarative with cp", opts: dpOptions{DeclarativeConfig: "kong.yml", CPURL: "ws://127.0.0.1:1"}, wantErr: "conflicts"},
		{desc: "no verify key", opts: dpOptions{FallbackURL: dir}, wantErr: "--verify-key is required"},
		{desc: "bad verify key", opts: dpOptions{FallbackURL: dir, VerifyKey: "not-a-key"}, wantErr: "--verify-key"},
		{desc: "bad cp url", opts: dpOptions{CPURL: "http://x", VerifyKey: key}, wantErr: "--cp-url"},
		{desc: "bad cp auth", opts: dpOptions{CPURL: "ws://127.0.0.1:1", CPAuth: "basic", VerifyKey: key}, wantErr: "--cp-auth"},
		{desc: "bad fallback url", opts: dpOptions{FallbackURL: "ftp://x", VerifyKey: key}, wantErr: "--fallback-url"},
		{desc: "bad second fallback url", opts: dpOptions{FallbackURL: dir + ",ftp://x", VerifyKey: key}, wantErr: "--fallback-url"},
		{desc: "fallback in two Regions", opts: dpOptions{FallbackURL: dir + ", " + dir, VerifyKey: key}},
		{desc: "https fallback", opts: dpOptions{FallbackURL: "https://d111111abcdef8.cloudfront.net/cp", VerifyKey: key}},
		{desc: "plain http fallback off loopback", opts: dpOptions{FallbackURL: "http://snapshots.example.com/cp", VerifyKey: key}, wantErr: "--fallback-url"},
		{desc: "bad labels", opts: dpOptions{FallbackURL: dir, VerifyKey: key, Labels: "region"}, wantErr: "--labels"},
		{desc: "cp and fallback", opts: dpOptions{CPURL: "ws://127.0.0.1:1", CPAuth: "token", FallbackURL: dir, VerifyKey: key, Labels: "region:eu,tier:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := tt.opts
			o.CacheDir = filepath.Join(t.TempDir(), "cache")
			rep, _, err := startSync(ctx, &o, nopApplier{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			switch {
			case tt.wantErr != "":
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, rep)
			case tt.wantNone:
				require.NoError(t, err)
				require.Nil(t, rep)
			default:
				require.NoError(t, err)
				require.NotNil(t, rep)
			}
		})
	}
}

func TestParseLabels(t *testing.T) {
	t.Parallel()
	got, err := parseLabels("region:eu, tier:gold")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"region": "eu", "tier": "gold"}, got)
	_, err = parseLabels("region:eu,:x")
	require.Error(t, err)
}
