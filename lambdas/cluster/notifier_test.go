package cluster_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// managementAPI speaks API Gateway's @connections API: a POST to a
// connection in gone answers 410 GoneException, others 200.
type managementAPI struct {
	mu       sync.Mutex
	received map[string]string
	gone     map[string]bool
	throttle map[string]bool
}

func (m *managementAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/@connections/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone[id] {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "GoneException")
		w.WriteHeader(http.StatusGone)
		_, _ = io.WriteString(w, `{"message":null}`)
		return
	}
	if m.throttle[id] {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "LimitExceededException")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"message":"Too Many Requests"}`)
		return
	}
	m.received[id] = string(body)
}

func TestManagementNotifier(t *testing.T) {
	t.Parallel()
	api := &managementAPI{received: map[string]string{}, gone: map[string]bool{"gone=": true},
		throttle: map[string]bool{"busy=": true}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client := apigatewaymanagementapi.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	n := cluster.NewManagementNotifier(client)

	tests := []struct {
		desc    string
		id      string
		wantErr error
	}{
		{desc: "delivered", id: "live="},
		{desc: "gone", id: "gone=", wantErr: cluster.ErrGone},
		{desc: "throttled", id: "busy=", wantErr: cluster.ErrThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			err := n.Post(context.Background(), tt.id, []byte(`{"type":"config","revision":1}`))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			api.mu.Lock()
			defer api.mu.Unlock()
			require.Equal(t, `{"type":"config","revision":1}`, api.received[tt.id])
		})
	}
}
