#!/usr/bin/env bash
# The latency cost of strict mode (--redis-wait-replicas 1): the same load against the same
# kind of fleet (PostgreSQL, a Redis Cluster of 3 masters with one replica each, two servers,
# HAProxy), alternating plain and strict rounds in one run, and the ratios strict / plain.
#   bench/strict_mode.sh [ROUNDS (3)]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}
bench=$repo/build/bin/fun-notes-bench
port=${FLEET_PORT:-18190}
out=$(mktemp -d)
trap 'FLEET_PORT=$port deploy/fleet.sh stop >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
cd "$repo"

# One round: start a fleet in the given mode, run a paced and an unpaced load, stop it.
round() {
  local mode=$1 n=$2 extra=""
  [ "$mode" = strict ] && extra="--redis-wait-replicas 1"
  FLEET_PORT=$port FLEET_REDIS_REPLICAS=1 \
    FLEET_SERVER_ARGS="--max-op-rate 100000 --max-op-burst 100000 $extra" \
    deploy/fleet.sh start 2 >/dev/null 2>&1
  # A run with rejected ops (never acknowledged) ends at its timeout and exits non-zero; its
  # figures still count, and the rejections are listed.
  "$bench" --port "$port" --writers 4 --readers 16 --ops-per-writer 1000 --rate 100 \
    --timeout 60 >"$out/$mode-paced-$n.txt" || true
  "$bench" --port "$port" --writers 4 --readers 16 --ops-per-writer 3000 --rate 0 --window 64 \
    --timeout 60 >"$out/$mode-unpaced-$n.txt" || true
  FLEET_PORT=$port deploy/fleet.sh stop >/dev/null 2>&1
}

for ((n = 1; n <= rounds; n++)); do
  round plain "$n"
  round strict "$n"
done

# field FILE: "ack p50 p99 delivery-p50 delivery-p99 throughput"
fields() {
  awk '/^ack latency/ {a50=$(NF-10); a99=$(NF-4)}
       /^delivery latency/ {d50=$(NF-10); d99=$(NF-4)}
       /^throughput/ {t=$2}
       /^ops:/ {r=$7}
       END {print a50, a99, d50, d99, t, r}' "$1"
}
printf '%-8s %-7s %5s %9s %9s %9s %9s %10s %9s\n' load mode round "ack p50" "ack p99" \
  "dlv p50" "dlv p99" "ops/s" rejected
for load in paced unpaced; do
  for mode in plain strict; do
    for ((n = 1; n <= rounds; n++)); do
      read -r a50 a99 d50 d99 t r < <(fields "$out/$mode-$load-$n.txt")
      printf '%-8s %-7s %5s %9s %9s %9s %9s %10s %9s\n' "$load" "$mode" "$n" "$a50" "$a99" \
        "$d50" "$d99" "$t" "${r%,}"
    done
  done
done
echo "ratios strict / plain, medians over the rounds:"
for load in paced unpaced; do
  for col in 1 2 5; do
    p=$(for ((n = 1; n <= rounds; n++)); do fields "$out/plain-$load-$n.txt"; done |
      awk -v c=$col '{print $c}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    s=$(for ((n = 1; n <= rounds; n++)); do fields "$out/strict-$load-$n.txt"; done |
      awk -v c=$col '{print $c}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    name=$(case $col in 1) echo "ack p50" ;; 2) echo "ack p99" ;; 5) echo "ops/s" ;; esac)
    awk -v l="$load" -v n="$name" -v p="$p" -v s="$s" \
      'BEGIN {printf "  %-8s %-8s plain %8s  strict %8s  ratio %.2f\n", l, n, p, s, s / p}'
  done
done
