#!/usr/bin/env bash
# How fast the terminal client starts from its cache with no server reachable: the time from
# launching `fun-notes tui ROOM` in a tmux window until the room's first note is on screen, for
# a room of 10,000 notes and a room of one, against a baseline in the same run (a shell in the
# same kind of window printing one line: what tmux and process start-up cost by themselves).
#   bench/cli_startup.sh [RUNS (15)] [NOTES (10000)]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-15}
notes=${2:-10000}
server=$repo/build/bin/fun-notes-server
cli=$repo/build/bin/fun-notes
work=$(mktemp -d)
sock=fun-notes-bench-$$
cleanup() {
  for s in /tmp/tmux-"$(id -u)"/"$sock"-*; do
    [ -e "$s" ] && tmux -L "$(basename "$s")" kill-server >/dev/null 2>&1
  done
  [ -z "${server_pid:-}" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data LANG=C.UTF-8

start_server() {
  rm -f "$work/port"
  "$server" --host 127.0.0.1 --port "${port:-0}" --port-file "$work/port" --data "$work/srv" \
    --log-level warn >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
  export FUN_NOTES_SERVER=http://127.0.0.1:$port
  for _ in $(seq 1 100); do curl -fs -o /dev/null "$FUN_NOTES_SERVER/readyz" && break; sleep 0.05; done
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# Two rooms, then the big one filled through export/import (10,000 ops would take minutes).
start_server
"$cli" register -u bench_user --password bench-password-1 >/dev/null
big=$("$cli" create-room "Big room" --link --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
small=$("$cli" create-room "Small room" --link --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$cli" add "$big" -t seed >/dev/null
"$cli" add "$small" -t "the only note" >/dev/null
stop_server
"$server" export --room "$big" --out "$work/big.json" --data "$work/srv" >/dev/null 2>&1
python3 - "$work/big.json" "$notes" <<'PY'
import json, sys
path, count = sys.argv[1], int(sys.argv[2])
room = json.load(open(path))
seq = room["last_seq"]
room["notes"] = [{"id": f"n{i:05d}", "title": f"note {i:05d}", "body": f"body of note {i} " * 4,
                  "is_important": i % 7 == 0, "is_completed": i % 5 == 0,
                  "current_index": 1024.0 * (i + 1), "seq": seq,
                  "updated_at": "2026-12-02T00:00:00.000Z"} for i in range(count)]
json.dump(room, open(path, "w"))
PY
"$server" import "$work/big.json" --replace --data "$work/srv" >/dev/null 2>&1
start_server
"$cli" notes "$big" --json >/dev/null   # the cache now holds both rooms
"$cli" notes "$small" --json >/dev/null
stop_server                              # from here on nothing answers

# Milliseconds from starting the window until its screen shows $2 (each run its own tmux
# server: a new session on a server still shutting down can vanish).
n=0
measure() {
  local cmd=$1 want=$2 t0 t1 give_up
  n=$((n + 1))
  local s=$sock-$n
  t0=$(date +%s%N)
  give_up=$((t0 + 10000000000))
  tmux -L "$s" new-session -d -s b -x 80 -y 24 "$cmd"
  until tmux -L "$s" capture-pane -p -t b 2>/dev/null | grep -q "$want"; do
    if (($(date +%s%N) > give_up)); then
      echo "bench: \"$want\" never showed; the screen:" >&2
      tmux -L "$s" capture-pane -p -t b >&2 || true
      exit 1
    fi
  done
  t1=$(date +%s%N)
  tmux -L "$s" kill-server >/dev/null 2>&1 || true
  echo $(((t1 - t0) / 1000000))
}
stats() { sort -n | awk '{a[NR]=$1} END {printf "%d %d %d", a[1], a[int((NR+1)/2)], a[NR]}'; }

declare -A result
for what in baseline small big; do
  : >"$work/$what.txt"
done
for _ in $(seq 1 "$runs"); do
  # Interleaved, so a noisy moment on the machine hits all three alike.
  measure "sh -c 'echo ready-to-go; sleep 30'" ready-to-go >>"$work/baseline.txt"
  measure "$cli tui $small" "the only note" >>"$work/small.txt"
  measure "$cli tui $big" "note 00000" >>"$work/big.txt"
done
printf '%-28s %8s %8s %8s\n' "start to first screen (ms)" min median max
for what in baseline small big; do
  result[$what]=$(stats <"$work/$what.txt")
  read -r lo mid hi <<<"${result[$what]}"
  label=$what
  [ "$what" = baseline ] && label="baseline (sh in tmux)"
  [ "$what" = small ] && label="fun-notes tui, 1 note"
  [ "$what" = big ] && label="fun-notes tui, $notes notes"
  printf '%-28s %8s %8s %8s\n' "$label" "$lo" "$mid" "$hi"
done
read -r _ base _ <<<"${result[baseline]}"
read -r _ small_mid _ <<<"${result[small]}"
read -r _ big_mid _ <<<"${result[big]}"
echo "median over the baseline: 1 note +$((small_mid - base)) ms, $notes notes +$((big_mid - base)) ms ($runs runs each, server down)"
