#!/usr/bin/env bash
# Run the end-to-end suite against the stack deployed on LocalStack.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION="${AWS_REGION:-us-east-1}"
if ! curl -fsS "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null 2>&1; then
  echo "localstack-e2e: LocalStack is not running at $AWS_ENDPOINT_URL: nothing was tested (make localstack-up, make localstack-deploy)"
  exit 1
fi
[ -f localstack/outputs.json ] || { echo "localstack-e2e: localstack/outputs.json missing: run make localstack-deploy first"; exit 1; }
export SKYPORT_LOCALSTACK_OUTPUTS="$PWD/localstack/outputs.json"
go test -count=1 -v -run 'LocalStack' ./tests/
