#!/usr/bin/env bash
# Side-by-side comparison of fun-notes with two Node.js peers (bench/peers/: Socket.IO with the
# Redis adapter, ShareDB) and the bare broadcast ceiling, on this machine.
#
#   bench/compare.sh [WORKLOAD...]      (default: all)
#
# Workloads:
#   smoke        the peers' wire protocol (bench/peers/smoke.mjs), no load driver needed
#   typing       typing storm: 160 rooms x 20 members, 2 typists per room at 5 ops/s
#   bigroom      one room of 400 members, every member typing at 0.5 ops/s
#   bigroom-cpu  the same while two CPU-bound competitors (busy shell loops) run
#   join         join storm: 200 clients join at once rooms of 1000 notes + 100 unflushed ops
#   idle         idle connections: RSS per connection
#   sweep        typing storm at increasing rates (fun-notes, socketio): capacity at p99 <= 100 ms
#   limits       redis-benchmark on this Redis: SPUBLISH and the append script's shape (EVALSHA)
#   all          smoke typing bigroom bigroom-cpu join idle sweep limits
#
# One throwaway PostgreSQL and one standalone Redis serve every target (a fresh database and an
# empty Redis for each run). Each run starts the target's 2 server processes, runs
# build/bin/fun-notes-load against both, then stops them. Every JSON result goes into
# bench/results/<date>.json, the summary is printed, and the sweep is plotted as SVG
# (p99 latency against offered load) beside it.
#
# Environment (defaults in brackets):
#   DURATION [10] WARMUP [2]         seconds per run (measured) and before it (not measured)
#   TARGETS ["fun-notes socketio sharedb broadcast"]   targets of every workload but sweep
#   JOIN_TARGETS [TARGETS but broadcast, which holds no notes]
#   SWEEP_TARGETS ["fun-notes socketio"]  SWEEP_RATES ["2 5 10 20 40"] (ops/s per typist)
#   SWEEP_P99_MS [100]               the capacity criterion
#   SWEEP_STOP_MS [1000]             a target's sweep stops once its p99 exceeds this
#   TYPING_ROOMS [160] TYPING_MEMBERS [20] TYPING_TYPISTS [2] TYPING_RATE [5] TYPING_NOTES [20]
#   BIG_MEMBERS [400] BIG_RATE [0.5]  JOIN_ROOMS [20] JOIN_CLIENTS [200] JOIN_NOTES [1000]
#   JOIN_OPS [100]   IDLE_CONNECTIONS [2000] IDLE_ROOMS [100]
#   COMPETITORS [2]                  busy loops of bigroom-cpu
#   SOURCES ["127.0.0.1,127.0.0.2"]  client source addresses
#   FLUSH_QUIET_MS [2000] FLUSH_MAX_MS [30000]  write-behind debounce of fun-notes and socketio
#   BROADCAST_INSTANCES [2]          fun-notes-broadcast processes (they share nothing: the
#                                    driver keeps each room on one of them)
#   BROADCAST_THREADS [1]            --threads of each fun-notes-broadcast
#   FUN_NOTES_THREADS [1]            --threads (I/O threads) of each fun-notes-server: one, as
#                                    each Node.js peer process and each broadcast process has
#   LIMIT_REQUESTS [200000] LIMIT_PIPELINE [16] LIMIT_CLIENTS [50]  redis-benchmark
#   PG_FSYNC [off]                   PostgreSQL's fsync (off: the disk is not what is compared)
#   OUT [bench/results]  KEEP [0]    keep the work dir (logs) when 1
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$repo/build/bin
load=${FUN_NOTES_LOAD_BIN:-$bin/fun-notes-load}
server_bin=${FUN_NOTES_SERVER_BIN:-$bin/fun-notes-server}
broadcast_bin=${FUN_NOTES_BROADCAST_BIN:-$bin/fun-notes-broadcast}
peers=$repo/bench/peers

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
TARGETS=${TARGETS:-"fun-notes socketio sharedb broadcast"}
SWEEP_TARGETS=${SWEEP_TARGETS:-"fun-notes socketio"}
SWEEP_RATES=${SWEEP_RATES:-"2 5 10 20 40"}
SWEEP_P99_MS=${SWEEP_P99_MS:-100}
SWEEP_STOP_MS=${SWEEP_STOP_MS:-1000}
TYPING_ROOMS=${TYPING_ROOMS:-160}
TYPING_MEMBERS=${TYPING_MEMBERS:-20}
TYPING_TYPISTS=${TYPING_TYPISTS:-2}
TYPING_RATE=${TYPING_RATE:-5}
TYPING_NOTES=${TYPING_NOTES:-20}
BIG_MEMBERS=${BIG_MEMBERS:-400}
BIG_RATE=${BIG_RATE:-0.5}
JOIN_ROOMS=${JOIN_ROOMS:-20}
JOIN_CLIENTS=${JOIN_CLIENTS:-200}
JOIN_NOTES=${JOIN_NOTES:-1000}
JOIN_OPS=${JOIN_OPS:-100}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-2000}
IDLE_ROOMS=${IDLE_ROOMS:-100}
COMPETITORS=${COMPETITORS:-2}
SOURCES=${SOURCES:-127.0.0.1,127.0.0.2}
FLUSH_QUIET_MS=${FLUSH_QUIET_MS:-2000}
FLUSH_MAX_MS=${FLUSH_MAX_MS:-30000}
BROADCAST_INSTANCES=${BROADCAST_INSTANCES:-2}
BROADCAST_THREADS=${BROADCAST_THREADS:-1}
FUN_NOTES_THREADS=${FUN_NOTES_THREADS:-1}
LIMIT_REQUESTS=${LIMIT_REQUESTS:-200000}
LIMIT_PIPELINE=${LIMIT_PIPELINE:-16}
LIMIT_CLIENTS=${LIMIT_CLIENTS:-50}
PG_FSYNC=${PG_FSYNC:-off}
OUT=${OUT:-$repo/bench/results}
KEEP=${KEEP:-0}
deadline_s=30

log() { echo "compare: $*" >&2; }
die() { log "$*"; exit 1; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

all_workloads=(smoke typing bigroom bigroom-cpu join idle sweep limits)
workloads=()
for a in "$@"; do
  case $a in
    -h | --help) usage; exit 0 ;;
    all) workloads+=("${all_workloads[@]}") ;;
    smoke | typing | bigroom | bigroom-cpu | join | idle | sweep | limits) workloads+=("$a") ;;
    *) usage >&2; die "unknown workload '$a'" ;;
  esac
done
((${#workloads[@]})) || workloads=("${all_workloads[@]}")

# ---- what the chosen workloads need ----

needs_driver=0 needs_peers=0
for w in "${workloads[@]}"; do
  case $w in
    smoke) needs_peers=1 ;;
    limits) ;;
    *) needs_driver=1 ;;
  esac
done
all_targets=" $TARGETS $SWEEP_TARGETS "
[[ $all_targets == *" socketio "* || $all_targets == *" sharedb "* ]] && ((needs_driver)) && needs_peers=1
for tool in redis-server redis-cli redis-benchmark psql curl node; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup.sh"
done
if ((needs_driver)); then
  [ -x "$load" ] || die "the load driver $load does not exist yet: build it with
  flock /tmp/fun-notes-build.lock nice ninja -C $repo/build fun-notes-load
(workloads that need no driver: smoke, limits)"
  if [[ $all_targets == *" fun-notes "* ]]; then
    [ -x "$server_bin" ] || die "no $server_bin: build fun-notes-server first"
  fi
  if [[ $all_targets == *" broadcast "* ]]; then
    [ -x "$broadcast_bin" ] || die "no $broadcast_bin: build fun-notes-broadcast first"
  fi
fi
if ((needs_peers)) && [ ! -d "$peers/node_modules" ]; then
  log "installing the peers' packages (npm ci in bench/peers)"
  (cd "$peers" && npm ci --no-audit --no-fund >/dev/null)
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || die "PostgreSQL not found under /usr/lib/postgresql: run scripts/setup.sh"

# Thousands of sockets per server process (and per driver).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- process bookkeeping: everything started is stopped on exit ----

work=$(mktemp -d /tmp/fun-notes-compare.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/logs" "$work/json"
server_pids=()
competitor_pids=()
redis_pid=""
pg_started=0

stop_pid() {
  local pid=$1 give_up=$((SECONDS + ${2:-15}))
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= give_up)); then
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
}

stop_competitors() {
  local p
  for p in "${competitor_pids[@]}"; do stop_pid "$p" 2; done
  competitor_pids=()
}

stop_servers() {
  local p
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${server_pids[@]}"; do stop_pid "$p" 20; done
  server_pids=()
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_competitors
  stop_servers
  [ -z "$redis_pid" ] || stop_pid "$redis_pid" 10
  if ((pg_started)); then
    as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 ||
      log "pg_ctl stop failed"
  fi
  if [ "$KEEP" = 1 ] || [ "$rc" -ne 0 ]; then
    log "work dir (logs) kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ----

ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
((ephemeral_low > 12000)) || ephemeral_low=60000
taken_ports=" "
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    [[ $taken_ports == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken_ports+="$p "
      echo "$p"
      return
    fi
  done
}

# Polls "$@" every 0.1 s until it succeeds; gives up after $deadline_s or when pid $1 died.
wait_ready() {
  local pid=$1 what=$2 logf=$3; shift 3
  local give_up=$((SECONDS + deadline_s))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logf" >&2; die "$what exited, see $logf"; }
    ((SECONDS < give_up)) || { tail -n 20 "$logf" >&2; die "$what not ready within ${deadline_s}s"; }
    sleep 0.1
  done
}
http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- PostgreSQL and Redis (one each, for every target) ----

pg_url() { echo "postgresql:///$1?host=$work/pg&port=$pg_port&user=postgres"; }
psql_admin() { psql -qAtX "$(pg_url postgres)" "$@"; }

start_postgres() {
  mkdir -p "$work/pg"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$work/pg"
  pg_port=$(free_port)
  as_postgres "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync >"$work/logs/initdb.log" 2>&1 ||
    die "initdb failed, see $work/logs/initdb.log"
  # Unix socket only, in $work/pg; enough connections for 2 servers' pools of every target.
  as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w -t "$deadline_s" \
    -o "-k $work/pg -p $pg_port -c listen_addresses= -c fsync=$PG_FSYNC -c max_connections=200" \
    start >/dev/null || die "PostgreSQL did not start, see $work/pg/postgres.log"
  pg_started=1
  pg_pid=$(head -n 1 "$work/pg/data/postmaster.pid")
  log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on $work/pg:$pg_port (pid $pg_pid, fsync=$PG_FSYNC)"
}

start_redis() {
  local _
  mkdir -p "$work/redis"
  for _ in 1 2 3 4 5; do
    redis_port=$(free_port)
    # deploy/redis.conf: what fun-notes needs (appendonly everysec, noeviction).
    (cd "$work/redis" && exec redis-server "$repo/deploy/redis.conf" --bind 127.0.0.1 \
      --port "$redis_port" --dir "$work/redis") >"$work/logs/redis.log" 2>&1 &
    redis_pid=$!
    local give_up=$((SECONDS + deadline_s))
    while kill -0 "$redis_pid" 2>/dev/null && ! redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do
      ((SECONDS < give_up)) || die "redis-server not ready within ${deadline_s}s"
      sleep 0.1
    done
    if kill -0 "$redis_pid" 2>/dev/null; then
      log "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$redis_port (pid $redis_pid)"
      return
    fi
    grep -q "Address already in use" "$work/logs/redis.log" || die "redis-server exited, see $work/logs/redis.log"
  done
  die "redis-server found no free port"
}

redis_url() { echo "redis://127.0.0.1:$redis_port"; }

# ---- targets: 2 server processes each (their pids in server_pids, endpoints in $endpoints) ----

run_no=0
db=""
fresh_state() {
  run_no=$((run_no + 1))
  db=run$run_no
  redis-cli -p "$redis_port" flushall >/dev/null
  psql_admin -c "CREATE DATABASE $db" >/dev/null
}
drop_state() {
  [ -z "$db" ] || psql_admin -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  db=""
}

start_target() {
  local target=$1 n=2 i port dir logf pid
  fresh_state
  endpoints=""
  [ "$target" != broadcast ] || n=$BROADCAST_INSTANCES
  for ((i = 1; i <= n; i++)); do
    dir=$work/$target-$run_no-$i
    logf=$work/logs/$target-$run_no-$i.log
    mkdir -p "$dir"
    case $target in
      fun-notes)
        "$server_bin" --host 127.0.0.1 --port 0 --port-file "$dir/port" --data "$dir/data" \
          --postgres "$(pg_url "$db")" --redis "$(redis_url)" --log-level warn \
          --max-op-rate 100000 --max-op-burst 100000 \
          --max-sockets-per-user 0 --max-sockets-per-address 0 --threads "$FUN_NOTES_THREADS" \
          --flush-quiet-ms "$FLUSH_QUIET_MS" --flush-max-ms "$FLUSH_MAX_MS" >"$logf" 2>&1 &
        pid=$!
        server_pids+=("$pid")
        wait_ready "$pid" "fun-notes-server $i" "$logf" test -s "$dir/port"
        port=$(cat "$dir/port")
        wait_ready "$pid" "fun-notes-server $i" "$logf" http_ok "http://127.0.0.1:$port/readyz"
        ;;
      socketio | sharedb)
        port=$(free_port)
        PORT=$port REDIS_URL=$(redis_url) DATABASE_URL=$(pg_url "$db") \
          SIO_FLUSH_QUIET_MS=$FLUSH_QUIET_MS SIO_FLUSH_MAX_MS=$FLUSH_MAX_MS \
          node "$peers/$target/server.js" >"$logf" 2>&1 &
        pid=$!
        server_pids+=("$pid")
        wait_ready "$pid" "$target $i" "$logf" http_ok "http://127.0.0.1:$port/healthz"
        ;;
      broadcast)
        port=$(free_port)
        "$broadcast_bin" --host 127.0.0.1 --port "$port" --threads "$BROADCAST_THREADS" >"$logf" 2>&1 &
        pid=$!
        server_pids+=("$pid")
        wait_ready "$pid" "fun-notes-broadcast $i" "$logf" tcp_open "$port"
        ;;
      *) die "unknown target $target" ;;
    esac
    endpoints+="${endpoints:+,}127.0.0.1:$port"
  done
}

stop_target() {
  stop_servers
  drop_state
}

# CPU is counted over the servers, Redis and PostgreSQL (the driver adds their descendants:
# PostgreSQL's backends); the bare broadcast server uses neither.
cpu_pids() {
  local IFS=,
  if [ "$1" = broadcast ]; then echo "${server_pids[*]}"; else echo "${server_pids[*]},$redis_pid,$pg_pid"; fi
}
rss_pids() { local IFS=,; echo "${server_pids[*]}"; }

# run_load TARGET LABEL WORKLOAD ROOMS MEMBERS TYPISTS RATE NOTES OPS CONNECTIONS: one driver
# run against the running target (flags a workload does not use are passed all the same, with
# values the driver accepts); its JSON lands in $work/json/LABEL.json. Status 1 when the
# driver failed (the comparison goes on).
run_load() {
  local target=$1 label=$2 workload=$3 rooms=$4 members=$5 typists=$6 rate=$7 notes=$8 ops=$9
  local connections=${10}
  local json=$work/json/$label.json
  local cmd=("$load" --target "$target" --endpoints "$endpoints" --workload "$workload"
    --rooms "$rooms" --members "$members" --typists "$typists" --rate "$rate"
    --duration "$DURATION" --warmup "$WARMUP" --notes "$notes" --ops "$ops"
    --connections "$connections" --sources "$SOURCES" --cpu-pids "$(cpu_pids "$target")"
    --rss-pids "$(rss_pids)" --label "$label" --json "$json")
  echo "${cmd[*]}" >>"$work/logs/commands.txt"
  local rc=0
  "${cmd[@]}" 2>"$work/logs/$label.stderr" || rc=$?
  if ((rc != 0)); then
    log "$label: fun-notes-load failed (exit $rc):"
    tail -n 10 "$work/logs/$label.stderr" >&2
    echo "{\"label\":\"$label\",\"target\":\"$target\",\"workload\":\"$workload\",\"failed\":true}" >"$json"
    return 1
  fi
  [ -s "$json" ] || { log "$label: no JSON written"; return 1; }
}

# one_run TARGET LABEL args...: start the target, one driver run, stop it.
one_run() {
  local target=$1
  start_target "$target"
  local rc=0
  run_load "$@" || rc=1
  stop_target
  return $rc
}

start_competitors() {
  local i
  for ((i = 0; i < COMPETITORS; i++)); do
    nice -n 0 sh -c 'while :; do :; done' &
    competitor_pids+=($!)
  done
}

# ---- workloads ----

wl_smoke() {
  local t rc=0
  for t in socketio sharedb; do
    start_target "$t"
    log "smoke: $t on $endpoints"
    node "$peers/smoke.mjs" --target "$t" --endpoints "$endpoints" | sed 's/^/  /' || rc=1
    stop_target
  done
  ((rc == 0)) || die "smoke: a peer failed its protocol checks"
}

# PostgreSQL's commits and row writes (inserts + updates + deletes) in the run's database so far.
pg_writes() {
  psql "$(pg_url "$db")" -Atc "select xact_commit, tup_inserted + tup_updated + tup_deleted
    from pg_stat_database where datname = current_database()" | tr '|' ' '
}

# A fun-notes server's counter on /metrics (0 when absent).
metric_of() {
  curl -s "http://$1/metrics" | awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}

# The typing storm's writes to PostgreSQL once the write-behind has folded everything: rows and
# transactions per 1,000 ops (fun-notes: also its own count of flushes and note rows), into
# $work/json/writebehind-TARGET.json.
writebehind_run() {
  local target=$1 label=writebehind-$1
  start_target "$target"
  local before after
  before=$(pg_writes)
  run_load "$target" "typing-$target" typing "$TYPING_ROOMS" "$TYPING_MEMBERS" "$TYPING_TYPISTS" \
    "$TYPING_RATE" "$TYPING_NOTES" 0 $((TYPING_ROOMS * TYPING_MEMBERS)) || true
  # The debounce's quiet period, then a second more for PostgreSQL's statistics.
  sleep $(((FLUSH_QUIET_MS + 2500) / 1000))
  after=$(pg_writes)
  local ops=0 flushes=0 rows=0 e
  if [ "$target" = fun-notes ]; then
    for e in ${endpoints//,/ }; do
      ops=$((ops + $(metric_of "$e" fun_notes_ops_appended_total)))
      flushes=$((flushes + $(metric_of "$e" fun_notes_flushes_total)))
      rows=$((rows + $(metric_of "$e" fun_notes_note_rows_written_total)))
    done
  fi
  local json=$work/json/typing-$target.json
  node -e '
    const [json, label, target, before, after, ops, flushes, rows, notes] = process.argv.slice(1);
    const run = JSON.parse(require("fs").readFileSync(json, "utf8"));
    const [c0, w0] = before.split(" ").map(Number), [c1, w1] = after.split(" ").map(Number);
    const sent = Number(ops) || run.ops_sent || 0;
    const out = { label, target, workload: "write-behind", ops: sent, notes: Number(notes),
      pg_commits: c1 - c0, pg_row_writes: w1 - w0,
      pg_row_writes_per_1000_ops: sent ? (1000 * (w1 - w0)) / sent : null,
      pg_commits_per_1000_ops: sent ? (1000 * (c1 - c0)) / sent : null };
    if (target === "fun-notes") Object.assign(out, { flushes: Number(flushes), note_rows: Number(rows),
      note_rows_per_note: Number(rows) / Number(notes) });
    console.log(JSON.stringify(out));
  ' "$json" "$label" "$target" "$before" "$after" "$ops" "$flushes" "$rows" \
    $((TYPING_ROOMS * (TYPING_TYPISTS + TYPING_NOTES))) >"$work/json/$label.json"
  log "$label: $(cat "$work/json/$label.json")"
  stop_target
}

wl_typing() {
  local t
  for t in $TARGETS; do
    case $t in
      fun-notes | socketio) writebehind_run "$t" ;;
      *)
        one_run "$t" "typing-$t" typing "$TYPING_ROOMS" "$TYPING_MEMBERS" "$TYPING_TYPISTS" \
          "$TYPING_RATE" "$TYPING_NOTES" 0 $((TYPING_ROOMS * TYPING_MEMBERS)) || true
        ;;
    esac
  done
}

wl_bigroom() {
  local suffix=$1 t
  for t in $TARGETS; do
    start_target "$t"
    [ "$suffix" != -cpu ] || start_competitors
    run_load "$t" "bigroom$suffix-$t" typing 1 "$BIG_MEMBERS" "$BIG_MEMBERS" "$BIG_RATE" \
      "$TYPING_NOTES" 0 "$BIG_MEMBERS" || true
    stop_competitors
    stop_target
  done
}

wl_join() {
  local t
  for t in ${JOIN_TARGETS:-${TARGETS//broadcast/}}; do
    one_run "$t" "join-$t" join "$JOIN_ROOMS" $((JOIN_CLIENTS / JOIN_ROOMS)) 0 1 \
      "$JOIN_NOTES" "$JOIN_OPS" "$JOIN_CLIENTS" || true
  done
}

wl_idle() {
  local t
  for t in $TARGETS; do
    one_run "$t" "idle-$t" idle "$IDLE_ROOMS" $((IDLE_CONNECTIONS / IDLE_ROOMS)) 0 1 0 0 \
      "$IDLE_CONNECTIONS" || true
  done
}

wl_sweep() {
  local t r label p99
  for t in $SWEEP_TARGETS; do
    for r in $SWEEP_RATES; do
      label="sweep-$t-$r"
      one_run "$t" "$label" typing "$TYPING_ROOMS" "$TYPING_MEMBERS" "$TYPING_TYPISTS" "$r" \
        "$TYPING_NOTES" 0 $((TYPING_ROOMS * TYPING_MEMBERS)) || break
      p99=$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
        console.log(j.p99_ms ?? 1e9)' "$work/json/$label.json")
      if node -e 'process.exit(+process.argv[1] > +process.argv[2] ? 0 : 1)' "$p99" "$SWEEP_STOP_MS"; then
        log "sweep: $t p99 ${p99} ms > ${SWEEP_STOP_MS} ms at $r ops/s per typist; higher rates skipped"
        break
      fi
    done
  done
}

# The append script: the server's own (append_lua in server/store/redis/redis_hot_log.cpp,
# read from the source), else this copy of its shape: the guard HGET, EXISTS, INCR, ZADD of the
# frame, GET persisted, three PERSISTs, an HSET per field touched and an EXPIRE, and the
# SPUBLISH of seq + frame, over one room's hash-tagged keys. The benchmark numbers the ops of
# one room (the ZSET grows with every request, as an unflushed log does).
append_shape_lua='if ARGV[7] ~= "" then
  local changed = tonumber(redis.call("HGET", KEYS[4], ARGV[7]) or "0")
  if changed > tonumber(ARGV[8]) then return {-1, changed} end
end
if redis.call("EXISTS", KEYS[1]) == 0 then
  redis.call("SET", KEYS[1], ARGV[5])
  redis.call("SET", KEYS[2], ARGV[5])
end
local seq = redis.call("INCR", KEYS[1])
local frame = ARGV[1] .. seq .. ARGV[2]
redis.call("ZADD", KEYS[3], seq, frame)
local persisted = tonumber(redis.call("GET", KEYS[2]) or "0")
redis.call("PERSIST", KEYS[1])
redis.call("PERSIST", KEYS[2])
redis.call("PERSIST", KEYS[3])
for i = 9, #ARGV do redis.call("HSET", KEYS[4], ARGV[i], seq) end
if #ARGV > 8 and tonumber(ARGV[3]) > 0 then redis.call("EXPIRE", KEYS[4], ARGV[3]) end
if ARGV[6] == "1" then redis.call("SPUBLISH", ARGV[4], seq .. "\n" .. frame) end
return {seq, persisted}'

# A frame as the server publishes it: an update op of a note's body, about 160 bytes.
frame_prefix='{"type":"op","seq":'
frame_suffix=',"op":{"kind":"update","id":"n7","fields":{"body":"the quick brown fox jumps over the lazy dog, typing"}},"cid":"c42-1081","user":"u7"}'

# bench_redis NAME ARGS...: one redis-benchmark run of the command ARGS; its requests/s and
# latency into $work/json/limit-NAME.json.
bench_redis() {
  local name=$1; shift
  local csv
  csv=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -n "$LIMIT_REQUESTS" -c "$LIMIT_CLIENTS" \
    -P "$LIMIT_PIPELINE" --csv "$@" 2>"$work/logs/limit-$name.stderr" | tail -n 1)
  echo "$csv" >"$work/logs/limit-$name.csv"
  node -e '
    const [out, name, line, requests, clients, pipeline, cmd] = process.argv.slice(1);
    // The test name (the command) may hold commas: the last 7 fields are the figures.
    const f = [null, ...line.split(",").slice(-7).map((s) => s.replace(/^"|"$/g, ""))];
    const rps = Number(f[1]);
    if (!(rps > 0)) {
      console.error(`limit ${name}: no result from redis-benchmark: ${line}`);
      process.exit(1);
    }
    const res = { label: `limit-${name}`, target: "redis", workload: "limit", command: cmd,
      requests_per_s: rps, p50_ms: Number(f[4]), p99_ms: Number(f[6]), max_ms: Number(f[7]),
      requests: +requests, clients: +clients, pipeline: +pipeline };
    require("fs").writeFileSync(out, JSON.stringify(res) + "\n");
    console.log(`limit-${name.padEnd(22)} ${rps.toFixed(0).padStart(9)} requests/s` +
      `  p50 ${f[4]} ms  p99 ${f[6]} ms`);
  ' "$work/json/limit-$name.json" "$name" "$csv" "$LIMIT_REQUESTS" "$LIMIT_CLIENTS" \
    "$LIMIT_PIPELINE" "$1${2:+ ${2:0:40}}" || return 1
}

server_append_lua() {
  awk '/append_lua = R"lua\(/ { f = 1; sub(/.*R"lua\(/, ""); print; next }
    f && /\)lua";/ { exit }
    f { print }' "$repo/server/store/redis/redis_hot_log.cpp" 2>/dev/null
}

wl_limits() {
  local pub_cmd=PUBLISH sha sub_pids=() i rc=0 script script_from=server
  if redis-cli -p "$redis_port" command info spublish | grep -qi spublish; then
    pub_cmd=SPUBLISH
  else
    log "limits: this Redis has no SPUBLISH (sharded Pub/Sub is Redis 7): PUBLISH instead"
  fi
  local payload=${frame_prefix}1${frame_suffix}
  script=$(server_append_lua)
  if ! grep -q "redis.call('INCR', KEYS\[1\])" <<<"$script" || ! grep -q SPUBLISH <<<"$script"; then
    log "limits: no append_lua found in server/store/redis/redis_hot_log.cpp: using this script's copy of its shape"
    script=$append_shape_lua
    script_from=shape
  fi
  sha=$(redis-cli -p "$redis_port" script load "$script")
  [[ $sha =~ ^[0-9a-f]{40}$ ]] || die "limits: SCRIPT LOAD failed: $sha"
  # KEYS seq, persisted, updates, fields; ARGV frame prefix and suffix, ttl, channel, known
  # seq, publish, guard field ('' = none), guard seq, the field touched.
  local keys_args=(4 'room:seq:{bench}' 'room:persisted:{bench}' 'room:updates:{bench}'
    'room:fields:{bench}' "$frame_prefix" "$frame_suffix" 21600 'room:{bench}' 0 1 '' 0 'n7/body')
  local append=(EVALSHA "$sha" "${keys_args[@]}")
  redis-cli -p "$redis_port" flushall >/dev/null
  bench_redis publish "$pub_cmd" 'room:{bench}' "$payload" || rc=1
  bench_redis append "${append[@]}" || rc=1
  # What the server sends: EVAL with the script's text (Redis finds the compiled script by
  # its SHA1, computed over the text on every call).
  redis-cli -p "$redis_port" del 'room:seq:{bench}' 'room:persisted:{bench}' 'room:updates:{bench}' \
    'room:fields:{bench}' >/dev/null
  bench_redis append-eval EVAL "$script" "${keys_args[@]}" || rc=1
  # Each op reaches every server subscribed to its room: two, as in the runs above (here two
  # redis-cli, which take CPU from the same cores as the servers would).
  for i in 1 2; do
    redis-cli -p "$redis_port" "${pub_cmd/PUBLISH/SUBSCRIBE}" 'room:{bench}' >/dev/null 2>&1 &
    sub_pids+=($!)
  done
  sleep 0.3
  redis-cli -p "$redis_port" flushall >/dev/null
  bench_redis publish-2-subscribers "$pub_cmd" 'room:{bench}' "$payload" || rc=1
  bench_redis append-2-subscribers "${append[@]}" || rc=1
  for i in "${sub_pids[@]}"; do stop_pid "$i" 2; done
  redis-cli -p "$redis_port" flushall >/dev/null
  log "limits: $pub_cmd (payload ${#payload} B); the append script ($script_from's, ${#script} B) by EVALSHA and EVAL; $LIMIT_CLIENTS clients, pipeline $LIMIT_PIPELINE, redis-benchmark on the same cores"
  return $rc
}

# ---- main ----

start_postgres
start_redis
export FUN_NOTES_JWT_SECRET
FUN_NOTES_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

started=$(date -u +%Y-%m-%dT%H-%M-%SZ)
failed=0
for w in "${workloads[@]}"; do
  log "== $w =="
  case $w in
    smoke) wl_smoke ;;
    typing) wl_typing ;;
    bigroom) wl_bigroom "" ;;
    bigroom-cpu) wl_bigroom -cpu ;;
    join) wl_join ;;
    idle) wl_idle ;;
    sweep) wl_sweep ;;
    limits) wl_limits || failed=1 ;;
  esac
done

mkdir -p "$OUT"
[ -e "$OUT/.gitignore" ] || echo '*' >"$OUT/.gitignore"
results=$OUT/$started.json
if compgen -G "$work/json/*.json" >/dev/null; then
  node "$peers/summary.mjs" --out "$results" --workloads "${workloads[*]}" \
    --sweep-p99-ms "$SWEEP_P99_MS" --typing-members "$TYPING_MEMBERS" --big-members "$BIG_MEMBERS" \
    --config "$(printf '%s=%s;' DURATION "$DURATION" WARMUP "$WARMUP" TARGETS "$TARGETS" \
      SWEEP_TARGETS "$SWEEP_TARGETS" SWEEP_RATES "$SWEEP_RATES" TYPING_ROOMS "$TYPING_ROOMS" \
      TYPING_MEMBERS "$TYPING_MEMBERS" TYPING_TYPISTS "$TYPING_TYPISTS" TYPING_RATE "$TYPING_RATE" \
      BIG_MEMBERS "$BIG_MEMBERS" BIG_RATE "$BIG_RATE" JOIN_ROOMS "$JOIN_ROOMS" \
      JOIN_CLIENTS "$JOIN_CLIENTS" JOIN_NOTES "$JOIN_NOTES" JOIN_OPS "$JOIN_OPS" \
      IDLE_CONNECTIONS "$IDLE_CONNECTIONS" COMPETITORS "$COMPETITORS" SOURCES "$SOURCES" \
      FLUSH_QUIET_MS "$FLUSH_QUIET_MS" FLUSH_MAX_MS "$FLUSH_MAX_MS" PG_FSYNC "$PG_FSYNC" \
      BROADCAST_INSTANCES "$BROADCAST_INSTANCES" BROADCAST_THREADS "$BROADCAST_THREADS")" \
    "$work"/json/*.json
  if compgen -G "$work/json/sweep-*.json" >/dev/null; then
    node "$repo/bench/plot_latency.mjs" "$results" "${results%.json}-latency.svg" \
      --p99-ms "$SWEEP_P99_MS"
  fi
fi
exit $failed
