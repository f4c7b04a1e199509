#!/bin/bash
# cp-memory.sh SKYPORT KONG_YML [ARGS...]: the control plane's CPU time and
# peak resident memory while it loads KONG_YML and publishes it.
#
# Starts `SKYPORT local --dp=false ARGS...` on free ports in a temporary data
# directory, POSTs the file to /config (with PUSH=1: loads it through an
# import job, `SKYPORT config push`), waits until the publisher logs the
# snapshot, and prints the process's CPU time (user + system, from
# /proc/<pid>/stat) and VmHWM at the 201 and once published. RSS is
# sampled every second into a file it names (epoch, VmRSS, VmHWM, RssFile
# in KB); the process is killed above 6 GB, and its data directory removed. Run it with nice: a million
# entities take minutes and GBs.
set -euo pipefail
BIN=$1 FILE=$2
shift 2
D=$(mktemp -d /tmp/skyport-cpmem-XXXXXX)
PA=$((20000 + RANDOM % 20000)) PC=$((PA + 1))
"$BIN" local --dp=false --data-dir "$D" --admin-listen 127.0.0.1:$PA --cluster-listen 127.0.0.1:$PC "$@" >"$D/out.log" 2>"$D/err.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; mv "$D/rss.log" "$D.rss.log" 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null 127.0.0.1:$PA/status && break; sleep 0.2; done
(while kill -0 $PID 2>/dev/null; do
	read -r r h f < <(awk '/^VmRSS/{r=$2} /^VmHWM/{h=$2} /^RssFile/{f=$2} END{print r, h, f}' /proc/$PID/status)
	echo "$(date +%s) $r $h $f" >>"$D/rss.log"
	if [ "${r:-0}" -gt 6000000 ]; then echo "above 6 GB: killed" >>"$D/rss.log"; kill $PID; fi
	sleep 1
done) &
cpu() { awk '{print ($14 + $15) / 100}' /proc/$PID/stat; }
hwm() { awk '/^VmHWM/{print int($2 / 1024)}' /proc/$PID/status; }
if [ "${PUSH:-}" = 1 ]; then
	"$BIN" config push "$FILE" --admin-url http://127.0.0.1:$PA --poll 2s >/dev/null
	echo "import job succeeded; CPU $(cpu) s; peak RSS $(hwm) MB"
else
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/yaml' --data-binary @"$FILE" 127.0.0.1:$PA/config)
	echo "POST /config: $code; CPU $(cpu) s; peak RSS $(hwm) MB"
fi
until grep -q '"published snapshot"' "$D/err.log"; do
	kill -0 $PID 2>/dev/null || { echo "the control plane stopped:"; tail -5 "$D/err.log"; exit 1; }
	sleep 1
done
echo "published: CPU $(cpu) s; peak RSS $(hwm) MB; $(grep -E '^Rss(Anon|File)' /proc/$PID/status | tr -s ' \t' ' ' | paste -sd ' ')"
echo "samples: $D.rss.log"
