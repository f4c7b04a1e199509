// Command lambdaecho is the Lambda function the aws-lambda end-to-end test
// runs under the Runtime Interface Emulator. It reads its instructions
// from the event's arguments — at the top level (the plugin's default
// payload) or in queryStringParameters (an API Gateway event):
//
//   - fail=MESSAGE: return an error (Lambda answers errorMessage and
//     errorType);
//   - crash: exit without answering (the invocation fails);
//   - status=CODE: answer an API Gateway proxy response with that
//     statusCode, an X-Echo header and the event as its body;
//
// and otherwise echoes the event as {"event": …, "function": NAME}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() { lambda.Start(handle) }

func handle(_ context.Context, event json.RawMessage) (any, error) {
	var ev struct {
		Args
		Query *Args `json:"queryStringParameters"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, err
	}
	args := ev.Args
	if ev.Query != nil {
		args = *ev.Query
	}
	switch {
	case args.Fail != "":
		return nil, errors.New(args.Fail)
	case args.Crash != nil:
		os.Exit(3)
	case args.Status != "":
		code, err := strconv.Atoi(args.Status)
		if err != nil {
			return nil, err
		}
		return map[string]any{"statusCode": code, "body": string(event),
			"headers": map[string]string{"Content-Type": "application/json", "X-Echo": "yes"}}, nil
	}
	return map[string]any{"event": event, "function": lambdacontext.FunctionName}, nil
}

// Args are the instructions read from the event.
type Args struct {
	Fail   string `json:"fail"`
	Crash  any    `json:"crash"`
	Status string `json:"status"`
}
