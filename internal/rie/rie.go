// Package rie runs a Lambda function's bootstrap under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie), as Lambda runs it: the
// emulator starts the bootstrap on the first invocation (its init), serves
// it the Runtime API, and passes events and results over HTTP. Tests and
// the cold-start benchmark use it to exercise the very binaries the stack
// deploys.
//
// The emulator is built from its Go module (Module at Version) with
// `go install`, never vendored; Lambda bootstraps are built for the host
// with the same flags as `make build`.
package rie

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The emulator's module, pinned.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
)

// Build installs the emulator into dir and returns its path.
func Build(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "install", Module+"/cmd/aws-lambda-rie@"+Version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the Lambda Runtime Interface Emulator: %w: %s", err, out)
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
}

// BuildBootstrap builds the Lambda command at pkg (a package path such as
// ./lambdas/cmd/admin, relative to the module root root) for the host
// into dir/<name>/bootstrap, with `make build`'s flags, and returns its
// path.
func BuildBootstrap(ctx context.Context, root, pkg, dir string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg), "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w: %s", pkg, err, b)
	}
	return out, nil
}
