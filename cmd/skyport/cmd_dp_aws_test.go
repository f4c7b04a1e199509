package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAWSSettingsChecked: a data plane that reads S3 or signs with IAM
// says in one line what is missing before any request.
func TestAWSSettingsChecked(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()

	_, err := fallbackStore(ctx, "s3://snapshots/cp")
	require.ErrorContains(t, err, "no AWS Region: set AWS_REGION")
	_, err = cpAuth(ctx, &dpOptions{CPURL: "wss://example.execute-api.eu-west-1.amazonaws.com/live", CPAuth: "iam"})
	require.ErrorContains(t, err, "--cp-auth iam: no AWS Region")

	t.Setenv("AWS_REGION", "eu-west-1")
	_, err = fallbackStore(ctx, "s3://snapshots/cp")
	require.ErrorContains(t, err, "no AWS credentials: set AWS_ACCESS_KEY_ID")
	require.False(t, strings.Contains(err.Error(), "\n"), "one line: %q", err)

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	_, err = fallbackStore(ctx, "s3://snapshots/cp")
	require.NoError(t, err)
}
