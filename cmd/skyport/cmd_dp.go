package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"
)

// dpOptions are the data plane's settings (DESIGN.md "The data plane's
// settings"); every flag has a SKYPORT_* environment twin.
type dpOptions struct {
	CPURL             string
	CPAuth            string
	CPToken           string
	FallbackURL       string
	CacheDir          string
	DeclarativeConfig string
	VerifyKey         string
	ProxyListen       string
	ProxyTLSListen    string
	StatusListen      string
	NodeID            string
	Labels            string
	LatencyHeaders    bool
	DrainTimeout      time.Duration
	FallbackPoll      time.Duration
}

// register adds the data plane's flags to fs.
func (o *dpOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.CPURL, "cp-url", "", "control plane WebSocket URL: wss://… (API Gateway stage) or ws://127.0.0.1:8005")
	fs.StringVar(&o.CPAuth, "cp-auth", "token", "how to authenticate to the control plane: iam (SigV4) or token")
	fs.StringVar(&o.CPToken, "cp-token", "", "bearer token for --cp-auth token")
	fs.StringVar(&o.FallbackURL, "fallback-url", "", "s3://bucket/prefix or file:///dir: snapshots read when the control plane is unreachable")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "directory for the last known good snapshot (survives restarts)")
	fs.StringVar(&o.DeclarativeConfig, "declarative-config", "", "a kong.yml file: run without a control plane (DB-less)")
	fs.StringVar(&o.VerifyKey, "verify-key", "", "the publisher's Ed25519 public key: a file, or the key itself (PEM or base64)")
	fs.StringVar(&o.ProxyListen, "proxy-listen", "0.0.0.0:8000", "HTTP proxy listen address")
	fs.StringVar(&o.ProxyTLSListen, "proxy-tls-listen", "0.0.0.0:8443", "HTTPS proxy listen address (empty disables)")
	fs.StringVar(&o.StatusListen, "status-listen", "0.0.0.0:8100", "status API listen address (/status, /status/ready, /metrics)")
	fs.StringVar(&o.NodeID, "node-id", "", "node id reported to the control plane (default: generated and kept in --cache-dir)")
	fs.StringVar(&o.Labels, "labels", "", "labels reported to the control plane, k:v,k:v")
	fs.BoolVar(&o.LatencyHeaders, "latency-headers", true, "add X-Kong-Upstream-Latency and X-Kong-Proxy-Latency to responses")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 30*time.Second, "how long shutdown waits for requests in flight")
	fs.DurationVar(&o.FallbackPoll, "fallback-poll", 30*time.Second, "how often the fallback is polled while the control plane is unreachable")
}

// runDP implements "skyport dp".
func runDP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o dpOptions
	fs := flag.NewFlagSet("skyport dp", flag.ContinueOnError)
	o.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	return fmt.Errorf("not implemented yet")
}
