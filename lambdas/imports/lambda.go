package imports

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Invoker is the Lambda API call a LambdaLauncher makes.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaLauncher launches a job by invoking the import function
// asynchronously with its Event: the Admin API's launcher in AWS, and the
// import function's own to continue a job past its time limit.
type LambdaLauncher struct {
	Client   Invoker
	Function string
}

var _ Launcher = LambdaLauncher{}

// Launch implements Launcher.
func (l LambdaLauncher) Launch(ctx context.Context, id string) error {
	payload, err := json.Marshal(Event{Job: id})
	if err != nil {
		return err
	}
	_, err = l.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(l.Function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoking %s: %w", l.Function, err)
	}
	return nil
}
