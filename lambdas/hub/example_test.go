package hub_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/skyport-gw/skyport/lambdas/hub"
)

// A hub routes each message by its "action" field to the handler of that
// name, as an API Gateway WebSocket API with the route selection
// expression $request.body.action does.
func Example() {
	routed := make(chan string, 1)
	hello := func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		routed <- req.RequestContext.RouteKey + " " + req.Body
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	h := hub.New(hub.Options{Routes: map[string]hub.Handler{"hello": hello}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"action":"hello","node_id":"dp-1"}`))
	fmt.Println(<-routed)
	// Output: hello {"action":"hello","node_id":"dp-1"}
}
