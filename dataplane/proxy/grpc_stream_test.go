package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/skyport-gw/skyport/internal/model"
)

// raw is a gRPC codec of plain bytes, so a test service needs no
// generated code.
type raw struct{}

func (raw) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: %T", v)
	}
	return *b, nil
}

func (raw) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (raw) Name() string { return "raw" }

// chatDesc is a bidirectional stream answering each message at once.
var chatDesc = grpc.ServiceDesc{
	ServiceName: "test.Chat",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{StreamName: "Talk", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			for {
				var msg []byte
				if err := stream.RecvMsg(&msg); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return err
				}
				reply := append([]byte("re: "), msg...)
				if err := stream.SendMsg(&reply); err != nil {
					return err
				}
			}
		}}},
}

// TestGRPCBidirectional: a bidirectional stream goes through message by
// message, each answer read before the next message is sent, which a
// buffered request body would deadlock.
func TestGRPCBidirectional(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer(grpc.ForceServerCodec(raw{}))
	srv.RegisterService(&chatDesc, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	host, port := splitAddr(t, ln.Addr().String())
	svc := service("chat", host, port, "")
	svc.Protocol = "grpc"
	r := route("chat", "chat", "/test.Chat/")
	r.Protocols, r.StripPath = []string{"grpc", "grpcs"}, false
	plain, secure := wsProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{r}})

	for _, l := range []*listener{plain, secure} {
		creds := insecure.NewCredentials()
		if l.roots != nil {
			creds = credentials.NewTLS(l.roots.Clone())
		}
		cc, err := grpc.NewClient("passthrough:///"+l.addr, grpc.WithTransportCredentials(creds))
		require.NoError(t, err)
		t.Cleanup(func() { _ = cc.Close() })
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), metadata.Pairs("x-allow", "1")),
			30*time.Second)
		stream, err := cc.NewStream(ctx, &chatDesc.Streams[0], "/test.Chat/Talk", grpc.ForceCodec(raw{}))
		require.NoError(t, err)
		for _, msg := range []string{"one", "two", "three"} {
			out := []byte(msg)
			require.NoError(t, stream.SendMsg(&out))
			var in []byte
			require.NoError(t, stream.RecvMsg(&in), "TLS %v", l.roots != nil)
			assert.Equal(t, "re: "+msg, string(in))
		}
		require.NoError(t, stream.CloseSend())
		var in []byte
		assert.ErrorIs(t, stream.RecvMsg(&in), io.EOF, "the stream ends with the upstream's OK status")
		cancel()
	}
}
