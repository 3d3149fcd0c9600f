#!/usr/bin/env bash
# Soak: a mixed load against a local fleet (PostgreSQL, a Redis Cluster with replicas, two
# servers in strict mode behind HAProxy) for a while; every 10 s each server's RSS and open
# file descriptors, and the delivery latency of the last 10 s, go into a CSV, plotted as SVG.
#   bench/soak.sh [--minutes 20] [--out DIR (bench/soak-out)]
# Each 10 s window is one fun-notes-bench run (8 writers at 20 ops/s, 40 readers), so clients
# also connect, join and leave all the time; a slope line per server says whether RSS grows.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=20
out=$repo/bench/soak-out
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: bench/soak.sh [--minutes N] [--out DIR]" >&2; exit 2 ;;
  esac
done
port=${FLEET_PORT:-18290}
export FLEET_PORT=$port FLEET_DIR=${FLEET_DIR:-/tmp/fun-notes-soak} FLEET_REDIS_REPLICAS=1
export FLEET_SERVER_ARGS="--max-op-rate 100000 --max-op-burst 100000 --redis-wait-replicas 1"
bench=$repo/build/bin/fun-notes-bench
mkdir -p "$out"
cd "$repo"
trap 'deploy/fleet.sh stop >/dev/null 2>&1 || true' EXIT
deploy/fleet.sh start 2 >/dev/null

pids=()
for f in "$FLEET_DIR"/pids/server*; do pids+=("$(cat "$f")"); done
csv=$out/soak.csv
echo "elapsed_s,server,rss_kib,fds,acked_ops_per_s,delivery_p50_ms,delivery_p99_ms" >"$csv"
start=$(date +%s)
end=$((start + minutes * 60))
while [ "$(date +%s)" -lt "$end" ]; do
  sample=$("$bench" --port "$port" --writers 8 --readers 40 --duration 10 --rate 20 \
    --baseline-pings 0 2>&1) || { echo "soak: bench failed:" >&2; echo "$sample" >&2; exit 1; }
  read -r t d50 d99 < <(awk '/^throughput/ {t=$2}
    /^delivery latency/ {d50=$(NF-10); d99=$(NF-4)} END {print t, d50, d99}' <<<"$sample")
  now=$(($(date +%s) - start))
  for i in "${!pids[@]}"; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/${pids[$i]}/status")
    fds=$(find "/proc/${pids[$i]}/fd" -mindepth 1 -maxdepth 1 | wc -l)
    echo "$now,server$((i + 1)),$rss,$fds,$t,$d50,$d99" >>"$csv"
  done
  echo "soak: ${now}s rss ${rss} KiB fds ${fds} acked ${t} ops/s delivery p50 ${d50} p99 ${d99} ms" >&2
done
node bench/soak_plot.mjs "$csv" "$out/soak.svg"
