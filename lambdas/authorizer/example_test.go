package authorizer_test

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/skyport-gw/skyport/lambdas/authorizer"
)

func ExampleAuthorizer_CheckRequest() {
	a := authorizer.New("s3cr3t-dp-token")
	req := events.APIGatewayWebsocketProxyRequest{
		Headers: map[string]string{"Authorization": "Bearer s3cr3t-dp-token"},
	}
	fmt.Println(a.CheckRequest(req))
	req.Headers["Authorization"] = "Bearer guess"
	fmt.Println(a.CheckRequest(req))
	// Output:
	// true
	// false
}
