#!/usr/bin/env bash
# Start LocalStack and wait until it answers.
set -euo pipefail
cd "$(dirname "$0")"
command -v docker >/dev/null || { echo "localstack: docker is required"; exit 1; }
[ -n "${LOCALSTACK_AUTH_TOKEN:-}" ] || { echo "localstack: set LOCALSTACK_AUTH_TOKEN (current LocalStack images require one)"; exit 1; }
compose="docker compose"; $compose version >/dev/null 2>&1 || compose="docker-compose"
$compose -f docker-compose.yml up -d
for i in $(seq 1 90); do
  if curl -fsS http://127.0.0.1:4566/_localstack/health >/dev/null 2>&1; then
    echo "localstack: up at http://127.0.0.1:4566"; exit 0
  fi
  sleep 2
done
echo "localstack: did not become healthy (docker logs skyport-localstack)"; exit 1
