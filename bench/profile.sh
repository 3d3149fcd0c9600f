#!/usr/bin/env bash
# Server CPU per delivery, side by side: each server binary named (default: this build's) runs
# the same fun-notes-bench workload in turn, ROUNDS times alternating, on a fresh embedded
# server; the server's CPU over the sending phase (utime + stime, read from /proc by the bench
# at its first op and after the last delivery) is divided by the deliveries. With PERF=1 the last round of each binary also runs under `perf record` and the top
# symbols are printed. Figures only compare within one run of this script.
#   bench/profile.sh [SERVER_BIN[@EXTRA FLAGS] ...]   e.g. build/bin/fun-notes-server@--threads=1
#   env: ROUNDS (3) WRITERS (8) READERS (200) RATE (50 ops/s per writer) DURATION (10) PERF (0)
#        BATCH (1: readers ask for batches)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$repo/build/bin/fun-notes-bench
[ -x "$bench" ] || { echo "profile.sh: build first ($bench missing)" >&2; exit 1; }
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$repo/build/bin/fun-notes-server")
rounds=${ROUNDS:-3}
writers=${WRITERS:-8}
readers=${READERS:-200}
rate=${RATE:-50}
duration=${DURATION:-10}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# run BIN LABEL PERF -> prints "LABEL us_per_delivery deliveries p50 p99 rss"
run() {
  local spec=$1 label=$2 perf=$3 dir=$work/$RANDOM
  local bin=${spec%%@*} extra=()
  [ "$bin" = "$spec" ] || read -r -a extra <<<"${spec#*@}"
  mkdir -p "$dir"
  local cmd=("$bin" "${extra[@]}" --host 127.0.0.1 --port 0 --port-file "$dir/port" --data "$dir/data"
    --log-level warn --max-op-rate 100000 --max-op-burst 100000 --max-sockets-per-user 0
    --max-sockets-per-address 0)
  if [ "$perf" = 1 ]; then
    perf record -q -e cpu-clock -F 2000 -g -o "$dir/perf.data" -- "${cmd[@]}" >"$dir/log" 2>&1 &
  else
    "${cmd[@]}" >"$dir/log" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 1 200); do [ -s "$dir/port" ] && break; sleep 0.05; done
  local pid=$server_pid
  [ "$perf" = 1 ] && pid=$(pgrep -P "$server_pid" -f fun-notes-server | head -1)
  local batch=()
  [ "${BATCH:-1}" = 1 ] && batch=(--batch)
  "$bench" --port "$(cat "$dir/port")" --writers "$writers" --readers "$readers" \
    --duration "$duration" --rate "$rate" --cpu-pid "$pid" "${batch[@]}" >"$dir/bench" 2>&1 || {
    cat "$dir/bench" >&2
    return 1
  }
  local rss
  rss=$(rss_kib "$pid")
  kill -INT "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  local summary acked p50 p99 cpu
  summary=$(grep '^SUMMARY' "$dir/bench")
  cpu=$(sed 's/.*server_cpu_s=\([0-9.]*\).*/\1/' <<<"$summary")
  acked=$(sed 's/.*acked=\([0-9]*\).*/\1/' <<<"$summary")
  p50=$(sed 's/.*delivery_p50_ms=\([0-9.]*\).*/\1/' <<<"$summary")
  p99=$(sed 's/.* p99_ms=\([0-9.]*\).*/\1/' <<<"$summary")
  # Every acknowledged op goes to every reader and back to its writer.
  local deliveries=$((acked * (readers + 1)))
  awk -v l="$label" -v c="$cpu" -v d="$deliveries" -v p50="$p50" -v p99="$p99" -v rss="$rss" \
    'BEGIN { printf "%-32s %8.2f %10d %8.1f %8.1f %8d\n", l, c * 1e6 / d, d, p50, p99, rss }'
  if [ "$perf" = 1 ]; then
    {
      perf report -i "$dir/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep '%' | head -8
      echo
      perf report -i "$dir/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        grep '%' | head -40
    } >"$work/perf-$label.txt" || true
  fi
}

echo "workload: $writers writers, $readers readers in one room, $rate ops/s per writer, ${duration}s"
printf "%-32s %8s %10s %8s %8s %8s\n" server "us/deliv" deliveries "p50 ms" "p99 ms" "RSS KiB"
for r in $(seq 1 "$rounds"); do
  i=0
  for b in "${bins[@]}"; do
    i=$((i + 1))
    perf=0
    [ "${PERF:-0}" = 1 ] && [ "$r" = "$rounds" ] && perf=1
    bin=${b%%@*}
    label="$i:$(basename "$(cd "$(dirname "$bin")/../.." && pwd)")"
    [ "$bin" = "$b" ] || label="$label@${b#*@}"
    run "$b" "${label// /}" "$perf"
  done
done
if [ "${PERF:-0}" = 1 ]; then
  for f in "$work"/perf-*.txt; do
    echo "--- perf (cpu-clock), $(basename "$f" .txt): self time by dso, symbol"
    cat "$f"
  done
fi
