#!/usr/bin/env bash
# A local fun-notes fleet on loopback, for trying distributed mode by hand:
#   a throwaway PostgreSQL, a 3-master Redis Cluster, N fun-notes-servers and HAProxy in front.
#
#   deploy/fleet.sh start [N]   start everything (N servers, default 2) and print the URLs
#   deploy/fleet.sh status      what is running
#   deploy/fleet.sh stop        stop everything and remove the state dir
#
# Environment: FLEET_PORT (HAProxy's port, default 8080), FLEET_DIR (state dir: pids, ports,
# logs, data; default /tmp/fun-notes-fleet), FUN_NOTES_SERVER_BIN (default build/bin/...),
# FLEET_SERVER_ARGS (extra flags for every server, e.g. "--max-op-rate 1000" for benchmarks),
# FLEET_REDIS_MAXMEMORY (each Redis node's maxmemory, default 512mb; see deploy/redis.conf),
# FLEET_REDIS_REPLICAS (replicas per master, default 0; 1 for --redis-wait-replicas 1).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fleet_dir=${FLEET_DIR:-/tmp/fun-notes-fleet}
fleet_port=${FLEET_PORT:-8080}
server_bin=${FUN_NOTES_SERVER_BIN:-$repo/build/bin/fun-notes-server}
redis_masters=3
redis_replicas=${FLEET_REDIS_REPLICAS:-0}
redis_maxmemory=${FLEET_REDIS_MAXMEMORY:-512mb}
deadline_s=30

log() { echo "fleet: $*" >&2; }
die() { log "$*"; exit 1; }

# Runs "$@" until it succeeds or $deadline_s seconds pass; polls every 0.1 s. The conditions
# below keep quiet themselves, so a die inside one still reaches the terminal.
wait_for() {
  local what=$1; shift
  local give_up=$((SECONDS + deadline_s))
  until "$@" >/dev/null; do
    ((SECONDS < give_up)) || die "$what not ready within ${deadline_s}s"
    sleep 0.1
  done
}

# A loopback port nothing listens on (something may still take it before we bind it). Chosen
# below the kernel's ephemeral range, so no outgoing connection of the tests running beside us
# can be holding it; a clash with another listener is caught by the caller, which picks again.
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
((ephemeral_low > 12000)) || ephemeral_low=60000
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}

# Whether a started process wrote its port file; gives up at once if it died.
listening() {
  kill -0 "$1" 2>/dev/null || die "$3 exited, see $fleet_dir/logs/$3.log"
  test -s "$2"
}

http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }
redis_up() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; }
redis_cluster_ok() { redis-cli -p "$1" cluster info 2>/dev/null | grep -q cluster_state:ok; }
# A master, or a replica that finished its first sync (before that WAIT confirms nothing).
redis_synced() {
  local info
  info=$(redis-cli -p "$1" info replication 2>/dev/null) || return 1
  ! grep -q role:slave <<<"$info" ||
    { grep -q master_link_status:up <<<"$info" && grep -q master_sync_in_progress:0 <<<"$info"; }
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$d/initdb" ] || die "PostgreSQL not found under /usr/lib/postgresql: run scripts/setup.sh"
  echo "$d"
}

start_postgres() {
  local bin dir port
  bin=$(pg_bin_dir)
  dir=$fleet_dir/postgres
  port=$(free_port)
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync >"$fleet_dir/logs/initdb.log" 2>&1 ||
    die "initdb failed, see $fleet_dir/logs/initdb.log"
  # Unix socket only, in $dir.
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t "$deadline_s" \
    -o "-k $dir -p $port -c listen_addresses= -c fsync=off" start >/dev/null ||
    die "PostgreSQL did not start, see $dir/postgres.log"
  echo "$port" >"$fleet_dir/postgres.port"
  psql -q "postgresql:///postgres?host=$dir&port=$port&user=postgres" \
    -c "CREATE DATABASE fun_notes" >/dev/null
  echo "postgresql:///fun_notes?host=$dir&port=$port&user=postgres" >"$fleet_dir/postgres.url"
  log "PostgreSQL on $dir (port $port)"
}

# Starts Redis node $1 in dir $2 on free ports and prints its port. A port found free can be
# taken before redis-server binds it: then it picks again, a few times.
start_redis_node() {
  local i=$1 dir=$2 attempt port bus_port pid
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # The cluster bus port is chosen free too: the default (port + 10000) may be taken, or
    # past 65535.
    bus_port=$(free_port)
    [ "$bus_port" != "$port" ] || continue
    rm -f "$dir/nodes.conf"
    (cd "$dir" && exec redis-server "$repo/deploy/redis.conf" --bind 127.0.0.1 --port "$port" \
      --maxmemory "$redis_maxmemory" --cluster-enabled yes --cluster-port "$bus_port" \
      --cluster-config-file nodes.conf \
      --cluster-node-timeout 5000) >"$fleet_dir/logs/redis$i.log" 2>&1 &
    pid=$!
    echo "$pid" >"$fleet_dir/pids/redis$i"
    local give_up=$((SECONDS + deadline_s))
    while kill -0 "$pid" 2>/dev/null && ! redis_up "$port"; do
      ((SECONDS < give_up)) || die "redis-server $i not ready within ${deadline_s}s"
      sleep 0.1
    done
    if redis_up "$port"; then
      echo "$port"
      return
    fi
    grep -q "Address already in use" "$fleet_dir/logs/redis$i.log" ||
      die "redis-server $i exited, see $fleet_dir/logs/redis$i.log"
    log "redis-server $i: port $port or $bus_port was taken, picking again"
  done
  die "redis-server $i found no free port in 5 tries, see $fleet_dir/logs/redis$i.log"
}

start_redis_cluster() {
  local i n port dir nodes=()
  for ((i = 1; i <= redis_masters * (1 + redis_replicas); i++)); do
    dir=$fleet_dir/redis$i
    mkdir -p "$dir"
    port=$(start_redis_node "$i" "$dir")
    nodes+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas "$redis_replicas" --cluster-yes \
    >"$fleet_dir/logs/redis-cluster-create.log" 2>&1 ||
    die "redis-cli --cluster create failed, see $fleet_dir/logs/redis-cluster-create.log"
  for n in "${nodes[@]}"; do
    wait_for "Redis Cluster" redis_cluster_ok "${n##*:}"
    wait_for "Redis replica sync" redis_synced "${n##*:}"
  done
  local urls=""
  for n in "${nodes[@]}"; do urls+="${urls:+,}redis://$n"; done
  echo "$urls" >"$fleet_dir/redis.urls"
  log "Redis Cluster: $urls"
}

start_server() {
  local i=$1 dir=$fleet_dir/server$1
  mkdir -p "$dir/data"
  "$server_bin" --host 127.0.0.1 --port 0 --port-file "$dir/port" --data "$dir/data" \
    --postgres "$(cat "$fleet_dir/postgres.url")" --redis "$(cat "$fleet_dir/redis.urls")" \
    --jwt-secret-file "$fleet_dir/jwt-secret" --trusted-proxies 127.0.0.1 --log-level warn \
    ${FLEET_SERVER_ARGS:-} \
    >"$fleet_dir/logs/server$i.log" 2>&1 &
  echo $! >"$fleet_dir/pids/server$i"
  wait_for "fun-notes-server $i (port file)" listening "$!" "$dir/port" "server$i"
  local port
  port=$(cat "$dir/port")
  wait_for "fun-notes-server $i" http_ok "http://127.0.0.1:$port/readyz"
  log "fun-notes-server $i on 127.0.0.1:$port"
}

start_haproxy() {
  local n=$1 servers="" i
  for ((i = 1; i <= n; i++)); do
    servers+="    server s$i 127.0.0.1:$(cat "$fleet_dir/server$i/port")"$'\n'
  done
  # @SERVERS@ on a line of its own becomes the server lines.
  local line
  while IFS= read -r line; do
    if [ "$line" = "@SERVERS@" ]; then
      printf '%s' "$servers"
    else
      printf '%s\n' "${line//@FRONTEND_PORT@/$fleet_port}"
    fi
  done <"$repo/deploy/haproxy.cfg" >"$fleet_dir/haproxy.cfg"
  haproxy -c -q -f "$fleet_dir/haproxy.cfg" >"$fleet_dir/logs/haproxy-check.log" 2>&1 ||
    die "invalid haproxy.cfg, see $fleet_dir/logs/haproxy-check.log"
  haproxy -db -f "$fleet_dir/haproxy.cfg" >"$fleet_dir/logs/haproxy.log" 2>&1 &
  echo $! >"$fleet_dir/pids/haproxy"
  wait_for "HAProxy" http_ok "http://127.0.0.1:$fleet_port/readyz"
}

cmd_start() {
  local n=${1:-2}
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "usage: $0 start [N]"
  [ ! -e "$fleet_dir" ] || die "$fleet_dir exists: a fleet is running ('$0 stop' first)"
  [ -x "$server_bin" ] || die "no server binary at $server_bin (build it first)"
  for tool in redis-server redis-cli haproxy curl psql; do
    command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup.sh"
  done
  if (exec 3<>"/dev/tcp/127.0.0.1/$fleet_port") 2>/dev/null; then
    die "port $fleet_port is in use (set FLEET_PORT)"
  fi

  mkdir -p "$fleet_dir/pids" "$fleet_dir/logs"
  # Undo a half-started fleet (die and set -e both end in exit).
  trap 'if [ $? -ne 0 ]; then log "start failed, logs:"; tail -n 5 "$fleet_dir"/logs/* >&2; cmd_stop; fi' EXIT
  # Every server signs and checks tokens with the same secret.
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$fleet_dir/jwt-secret")

  start_postgres
  start_redis_cluster
  local i
  for ((i = 1; i <= n; i++)); do start_server "$i"; done
  start_haproxy "$n"
  trap - EXIT
  echo "$n" >"$fleet_dir/servers"

  cat <<EOF
fun-notes fleet is up ($n servers behind HAProxy)
  HTTP:       http://127.0.0.1:$fleet_port/
  WebSocket:  ws://127.0.0.1:$fleet_port/ws
  PostgreSQL: $(cat "$fleet_dir/postgres.url")
  Redis:      $(cat "$fleet_dir/redis.urls")
  state/logs: $fleet_dir
stop it with: $0 stop
EOF
}

cmd_status() {
  [ -d "$fleet_dir/pids" ] || { echo "no fleet (no $fleet_dir)"; return 1; }
  local f name pid state
  for f in "$fleet_dir"/pids/*; do
    name=$(basename "$f")
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then state=running; else state=DEAD; fi
    extra=""
    [ ! -s "$fleet_dir/$name/port" ] || extra=" 127.0.0.1:$(cat "$fleet_dir/$name/port")"
    printf '%-10s pid %-8s %s%s\n' "$name" "$pid" "$state" "$extra"
  done
  if [ -s "$fleet_dir/postgres.url" ]; then
    if psql -qAt "$(cat "$fleet_dir/postgres.url")" -c 'select 1' >/dev/null 2>&1; then
      echo "postgres   running"
    else
      echo "postgres   DOWN"
    fi
  fi
  if http_ok "http://127.0.0.1:$fleet_port/readyz"; then
    echo "http://127.0.0.1:$fleet_port/readyz: 200"
  else
    echo "http://127.0.0.1:$fleet_port/readyz: not ready"
  fi
}

# Stops a pid from a pid file: SIGTERM, then SIGKILL after the deadline.
stop_pid_file() {
  local f=$1 pid give_up
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || return 0
  give_up=$((SECONDS + deadline_s))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= give_up)); then
      log "$(basename "$f") (pid $pid) ignored SIGTERM; killing it"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

cmd_stop() {
  [ -d "$fleet_dir" ] || { log "no fleet at $fleet_dir"; return 0; }
  local f
  stop_pid_file "$fleet_dir/pids/haproxy"
  for f in "$fleet_dir"/pids/server*; do stop_pid_file "$f"; done  # drains write-behind
  for f in "$fleet_dir"/pids/redis*; do stop_pid_file "$f"; done
  if [ -f "$fleet_dir/postgres/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin_dir)/pg_ctl" -D "$fleet_dir/postgres/data" -m fast -w stop >/dev/null ||
      log "pg_ctl stop failed"
  fi
  rm -rf "$fleet_dir"
  log "stopped; removed $fleet_dir"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start [N] | status | stop" >&2; exit 2 ;;
esac
