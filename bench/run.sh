#!/usr/bin/env bash
# make bench: install the peers (Debian packages), then measure and write
# BENCHMARKS.md. Not part of make test.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in nginx caddy haproxy wrk; do command -v "$p" >/dev/null || need+=("$p"); done
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq nginx caddy haproxy wrk >/dev/null
fi
export PATH="$PATH:/usr/sbin"
go run ./bench "$@"
