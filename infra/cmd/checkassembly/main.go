// Command checkassembly checks a synthesized cloud assembly the way
// `cdk deploy` would use it, without an AWS account:
//
//   - every Docker image asset builds exactly as the CDK CLI builds it
//     (docker build --tag … --build-arg … --target … --file … --platform …
//     <asset directory>), for the platform it names;
//   - every Lambda function on a provided.* runtime has a code asset that
//     holds an executable `bootstrap` for the function's architecture;
//   - the cdk-nag reports list no finding that is neither compliant nor
//     suppressed with a reason.
//
// Usage: checkassembly [-docker=false] <cdk.out> <stack>...
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
)

func main() {
	docker := flag.Bool("docker", true, "build the Docker image assets")
	flag.Parse()
	if flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: checkassembly [-docker=false] <cdk.out> <stack>...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed := false
	for _, stack := range flag.Args()[1:] {
		if err := check(ctx, flag.Arg(0), stack, *docker, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "checkassembly: %s: %v\n", stack, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func check(ctx context.Context, out, stack string, docker bool, w io.Writer) error {
	var m manifest
	if err := readJSON(filepath.Join(out, stack+".assets.json"), &m); err != nil {
		return err
	}
	var tpl template
	if err := readJSON(filepath.Join(out, stack+".template.json"), &tpl); err != nil {
		return err
	}
	var errs []error
	if docker {
		errs = append(errs, buildImages(ctx, out, m, w))
	}
	errs = append(errs, checkBootstraps(out, m, tpl, w), checkNagReports(out, stack, w))
	return errors.Join(errs...)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}
