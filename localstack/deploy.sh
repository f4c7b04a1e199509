#!/usr/bin/env bash
# Deploy the same CDK app to LocalStack. Needs `make build` output (the
# Makefile target runs it; with SKYPORT_DP=true also `make image-files ARCH=arm64`), the cdklocal wrapper (npm i -g aws-cdk-local
# aws-cdk) and a running LocalStack (make localstack-up).
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"
export CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION="$AWS_REGION"
curl -fsS "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null || { echo "localstack: not reachable at $AWS_ENDPOINT_URL (make localstack-up)"; exit 1; }
command -v cdklocal >/dev/null || { echo "localstack: cdklocal not found (npm i -g aws-cdk-local aws-cdk)"; exit 1; }
# The data-plane fleet (ECS) is left out by default: run data planes locally
# against the deployed control plane (see localstack/README.md).
export SKYPORT_DP="${SKYPORT_DP:-false}"
cdklocal bootstrap
cdklocal deploy --require-approval never --outputs-file localstack/outputs.json
echo "localstack: deployed; outputs in localstack/outputs.json"
