package awsconfig_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/awsconfig"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	static := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	failing := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found\nmore detail")
	})
	tests := []struct {
		desc string
		cfg  aws.Config
		want error
	}{
		{"complete", aws.Config{Region: "eu-west-1", Credentials: static}, nil},
		{"no Region", aws.Config{Credentials: static}, awsconfig.ErrNoRegion},
		{"no credentials provider", aws.Config{Region: "eu-west-1"}, awsconfig.ErrNoCredentials},
		{"credentials that cannot be had", aws.Config{Region: "eu-west-1", Credentials: failing}, awsconfig.ErrNoCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			err := awsconfig.Check(context.Background(), tc.cfg)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestLoggerLevels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := awsconfig.Logger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Logf(logging.Warn, "failed to close HTTP response body, this may affect connection reuse")
	l.Logf(logging.Debug, "Response has no supported checksum. Not validating response payload.")
	require.Empty(t, buf.String(), "noise stays at debug")
	l.Logf(logging.Warn, "retrying %s", "PutObject")
	require.True(t, strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "retrying PutObject"), buf.String())
}

func TestLoadReadsTheEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := awsconfig.Load(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, awsconfig.Check(context.Background(), cfg))
	require.Equal(t, "eu-central-1", cfg.Region)
}
