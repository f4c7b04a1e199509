package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/internal/model"
)

// health is a gRPC upstream: Check answers SERVING with a header and a
// trailer naming the upstream and what the proxy added, or NotFound for
// the service "missing"; Watch streams three statuses.
type health struct {
	healthpb.UnimplementedHealthServer
	name string
}

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-upstream", h.name, "x-tagged", strings.Join(md.Get("x-tagged"), ","))); err != nil {
		return nil, err
	}
	if err := grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t-"+req.GetService())); err != nil {
		return nil, err
	}
	if req.GetService() == "missing" {
		return nil, status.Error(codes.NotFound, "unknown service missing")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (h *health) Watch(_ *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	for _, st := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING,
		healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING} {
		if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
			return err
		}
	}
	return nil
}

// grpcUpstream starts a gRPC server (TLS with a certificate for
// localhost when secure) and returns its address.
func grpcUpstream(t *testing.T, name string, secure bool) (host string, port int) {
	t.Helper()
	var opts []grpc.ServerOption
	if secure {
		ca := certstest.NewAuthority(t, "upstream CA")
		certPEM, keyPEM := ca.Issue(t, "localhost", "localhost", "127.0.0.1")
		cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
		require.NoError(t, err)
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	}
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, &health{name: name})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return splitAddr(t, ln.Addr().String())
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	return host, port
}

// grpcClient is a gRPC client of l (TLS trusting its certificate, else
// h2c) that sends authority as :authority.
func grpcClient(t *testing.T, l *listener, authority string) healthpb.HealthClient {
	t.Helper()
	creds := insecure.NewCredentials()
	if l.roots != nil {
		cfg := l.roots.Clone()
		cfg.ServerName = authority
		creds = credentials.NewTLS(cfg)
	}
	cc, err := grpc.NewClient("passthrough:///"+l.addr, grpc.WithTransportCredentials(creds), grpc.WithAuthority(authority))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return healthpb.NewHealthClient(cc)
}

func TestGRPC(t *testing.T) {
	t.Parallel()
	plainHost, plainPort := grpcUpstream(t, "h2c", false)
	tlsHost, tlsPort := grpcUpstream(t, "tls", true)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadHost, deadPort := splitAddr(t, dead.Addr().String())
	require.NoError(t, dead.Close())

	svc := func(id, proto, host string, port int) *model.Service {
		s := service(id, host, port, "")
		s.Protocol = proto
		return s
	}
	grpcRoute := func(id, svc, host string, protocols ...string) *model.Route {
		r := route(id, svc)
		r.Hosts, r.Protocols = []string{host}, protocols
		return r
	}
	noService := grpcRoute("orphan", "", "orphan.test", "grpc")
	noService.Service = nil
	cfg := &model.Config{
		Services: []*model.Service{svc("grpc", "grpc", plainHost, plainPort), svc("grpcs", "grpcs", tlsHost, tlsPort),
			svc("dead", "grpc", deadHost, deadPort)},
		Routes: []*model.Route{grpcRoute("plain", "grpc", "plain.test", "grpc"), grpcRoute("secure", "grpcs", "secure.test", "grpcs"),
			grpcRoute("both", "grpc", "both.test", "grpc", "grpcs"), grpcRoute("dead", "dead", "dead.test", "grpc"), noService},
	}
	plain, secure := wsProxy(t, cfg)
	allow := metadata.Pairs("x-allow", "1")

	t.Run("cases", func(t *testing.T) {
		for _, tc := range []struct {
			desc      string
			l         *listener
			authority string
			service   string
			md        metadata.MD
			upstream  string
			code      codes.Code
			message   string
		}{
			{desc: "h2c to an h2c upstream", l: plain, authority: "plain.test", md: allow, upstream: "h2c"},
			{desc: "TLS to a TLS upstream", l: secure, authority: "secure.test", md: allow, upstream: "tls"},
			{desc: "a grpc and grpcs route over TLS", l: secure, authority: "both.test", md: allow, upstream: "h2c"},
			{desc: "the upstream's status", l: plain, authority: "plain.test", service: "missing", md: allow, upstream: "h2c",
				code: codes.NotFound, message: "unknown service missing"},
			{desc: "a plugin's answer", l: plain, authority: "plain.test", code: codes.PermissionDenied, message: "denied"},
			{desc: "a grpcs route without TLS", l: plain, authority: "secure.test", md: allow, code: codes.NotFound},
			{desc: "no route", l: secure, authority: "nowhere.test", md: allow, code: codes.NotFound},
			{desc: "no service", l: plain, authority: "orphan.test", md: allow, code: codes.Unavailable},
			{desc: "an upstream that refuses", l: plain, authority: "dead.test", md: allow, code: codes.Internal,
				message: "An invalid response was received from the upstream server"},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if tc.md != nil {
					ctx = metadata.NewOutgoingContext(ctx, tc.md)
				}
				var header, trailer metadata.MD
				res, err := grpcClient(t, tc.l, tc.authority).Check(ctx, &healthpb.HealthCheckRequest{Service: tc.service},
					grpc.Header(&header), grpc.Trailer(&trailer))
				st := status.Convert(err)
				assert.Equal(t, tc.code, st.Code(), "%v", err)
				assert.Equal(t, tc.message, st.Message())
				if tc.code == codes.OK {
					assert.Equal(t, healthpb.HealthCheckResponse_SERVING, res.GetStatus())
				}
				if tc.upstream != "" {
					assert.Equal(t, []string{tc.upstream}, header.Get("x-upstream"))
					assert.Equal(t, []string{"yes"}, header.Get("x-tagged"), "the access phase ran")
					assert.Equal(t, []string{"t-" + tc.service}, trailer.Get("x-trailer"), "trailers relayed")
				}
				// A status-only answer's fields are its trailers.
				assert.NotEmpty(t, append(header.Get("x-kong-request-id"), trailer.Get("x-kong-request-id")...),
					"Kong's headers on every answer")
			})
		}
	})

	t.Run("a server stream", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), allow), 30*time.Second)
		defer cancel()
		stream, err := grpcClient(t, secure, "both.test").Watch(ctx, &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		var got []healthpb.HealthCheckResponse_ServingStatus
		for {
			res, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			got = append(got, res.GetStatus())
		}
		assert.Equal(t, []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING,
			healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING}, got)
	})

	t.Run("not gRPC on a gRPC route", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			desc, contentType string
			h2c               bool
			status            int
			body              string
		}{
			{desc: "JSON over HTTP/2", contentType: "application/json", h2c: true, status: http.StatusUnsupportedMediaType,
				body: "Non-gRPC request matched gRPC route"},
			{desc: "gRPC over HTTP/1.1", contentType: "application/grpc", status: http.StatusUpgradeRequired,
				body: "Please use HTTP2 protocol"},
		} {
			req, err := http.NewRequest(http.MethodPost, plain.url()+"/grpc.health.v1.Health/Check", strings.NewReader("x"))
			require.NoError(t, err)
			req.Host = "plain.test"
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("X-Allow", "1")
			res, err := plain.client(t, !tc.h2c, false, tc.h2c).Do(req)
			require.NoError(t, err, tc.desc)
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, tc.status, res.StatusCode, tc.desc)
			// The phases plugin upper-cases JSON bodies.
			assert.Contains(t, string(body), strings.ToUpper(tc.body), tc.desc)
			if tc.status == http.StatusUpgradeRequired {
				assert.Equal(t, "HTTP/2", res.Header.Get("Upgrade"))
			}
		}
	})
}
