package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestProtocols runs a real "skyport dp" from a kong.yml with gRPC and
// WebSocket routes and services, and talks to it with a real gRPC client
// (h2c and TLS) and a real WebSocket client (ws and wss), and over
// HTTP/2 with ALPN.
func TestProtocols(t *testing.T) {
	grpcSrv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("up", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(grpcSrv, hs)
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = grpcSrv.Serve(gl) }()
	t.Cleanup(grpcSrv.Stop)

	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo "), msg...)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(ws.Close)
	up := upstream(t, "http")

	dir := t.TempDir()
	kongYML := filepath.Join(dir, "kong.yml")
	doc := fmt.Sprintf(`_format_version: "3.0"
services:
  - name: grpc
    url: grpc://%s
    routes:
      - name: grpc
        protocols: [grpc, grpcs]
        paths: [/grpc.health.v1.Health/]
        strip_path: false
  - name: ws
    url: ws://%s
    routes:
      - name: ws
        protocols: [ws, wss]
        paths: [/ws]
  - name: http
    url: %s
    routes:
      - name: http
        paths: [/http]
`, gl.Addr(), ws.Listener.Addr(), up.URL)
	if err := os.WriteFile(kongYML, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	proxyAddr, tlsAddr, statusAddr := addr(freePort(t)), addr(freePort(t)), addr(freePort(t))
	start(t, "dp", nil, "dp", "--declarative-config", kongYML, "--cache-dir", filepath.Join(dir, "cache"),
		"--proxy-listen", proxyAddr, "--proxy-tls-listen", tlsAddr, "--status-listen", statusAddr, "--access-log=off")
	ready(t, statusAddr, time.Minute)
	// The data plane's default certificate is self-signed.
	insecureTLS := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // the default certificate

	t.Run("gRPC", func(t *testing.T) {
		for _, tc := range []struct {
			desc  string
			addr  string
			creds credentials.TransportCredentials
		}{
			{desc: "h2c", addr: proxyAddr, creds: insecure.NewCredentials()},
			{desc: "TLS", addr: tlsAddr, creds: credentials.NewTLS(insecureTLS.Clone())},
		} {
			cc, err := grpc.NewClient("passthrough:///"+tc.addr, grpc.WithTransportCredentials(tc.creds))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			client := healthpb.NewHealthClient(cc)
			res, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "up"})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("%s: Check = %v, %v; want SERVING", tc.desc, res, err)
			}
			_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"})
			if status.Code(err) != codes.NotFound {
				t.Errorf("%s: the upstream's status relayed: got %v, want NotFound", tc.desc, err)
			}
			cancel()
			_ = cc.Close()
		}
	})

	t.Run("WebSocket", func(t *testing.T) {
		for _, tc := range []struct {
			desc, url string
			client    *http.Client
		}{
			{desc: "ws", url: "ws://" + proxyAddr + "/ws", client: http.DefaultClient},
			{desc: "wss", url: "wss://" + tlsAddr + "/ws",
				client: &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS.Clone()}}},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c, _, err := websocket.Dial(ctx, tc.url, &websocket.DialOptions{HTTPClient: tc.client})
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", tc.desc, err)
			}
			if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
				t.Fatalf("%s: %v", tc.desc, err)
			}
			_, msg, err := c.Read(ctx)
			if err != nil || string(msg) != "echo hi" {
				t.Errorf("%s: read %q, %v; want \"echo hi\"", tc.desc, msg, err)
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Errorf("%s: closing: %v", tc.desc, err)
			}
			cancel()
		}
	})

	t.Run("HTTP/2 with ALPN", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: insecureTLS.Clone(), ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr}).Get("https://" + tlsAddr + "/http")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Proto != "HTTP/2.0" {
			t.Errorf("got %d over %s, want 200 over HTTP/2.0", res.StatusCode, res.Proto)
		}
		if !strings.Contains(res.Header.Get("Via"), "skyport") {
			t.Errorf("Via = %q: not proxied", res.Header.Get("Via"))
		}
	})
}
