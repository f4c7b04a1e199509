// Package awsconfig loads the AWS SDK's configuration for Skyport's
// processes (the CLI and the Lambda functions): the SDK's own log lines go
// through the process's slog logger at the level they deserve, and Check
// says in one line what is missing (a Region, credentials) before the
// first request fails with an SDK error that names neither.
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// Errors Check reports, one line each.
var (
	ErrNoRegion      = errors.New("no AWS Region: set AWS_REGION (or region in the profile AWS_PROFILE names)")
	ErrNoCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a role (ECS task role, EC2 instance profile, Lambda execution role)")
)

// CheckTimeout bounds how long Check waits for credentials (the default
// chain may ask the instance metadata service).
const CheckTimeout = 10 * time.Second

// Load is config.LoadDefaultConfig with log as the SDK's logger (nil:
// slog.Default()).
func Load(ctx context.Context, log *slog.Logger) (aws.Config, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(Logger(log)))
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, nil
}

// Check reports a configuration without a Region or without credentials.
func Check(ctx context.Context, cfg aws.Config) error {
	if cfg.Region == "" {
		return ErrNoRegion
	}
	if cfg.Credentials == nil {
		return ErrNoCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("%w (%s)", ErrNoCredentials, firstLine(err.Error()))
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Logger adapts log to the SDK's logger. The SDK warns when it cannot
// close a response body it has already read, which is no fault of the
// caller's: that goes to Debug, with the SDK's debug lines (such as the
// checksum it did not validate).
func Logger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...interface{}) {
		msg := fmt.Sprintf(format, v...)
		level := slog.LevelDebug
		if c == logging.Warn && !strings.Contains(msg, "failed to close HTTP response body") {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, msg, "component", "aws-sdk")
	})
}
