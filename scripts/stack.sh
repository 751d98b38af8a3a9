#!/usr/bin/env bash
# make up / down / status: the local servers as plain processes on 127.0.0.1.
# Each has a pid file under .local/run; `down` stops only the pids recorded there.
set -euo pipefail
. "$(dirname "$0")/common.sh"

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }

is_running() {  # is the process recorded in NAME's pid file alive?
  local file; file=$(pid_file "$1")
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() {  # wait_until SECONDS DESCRIPTION NAME COMMAND...
  local deadline=$(( SECONDS + $1 )) what=$2 name=$3; shift 3
  until "$@" >/dev/null 2>&1; do
    is_running "$name" || die "$what: the process exited; see $LOG_DIR/$name.log"
    [ $SECONDS -lt $deadline ] || die "$what: not healthy after $1 s; see $LOG_DIR/$name.log"
    sleep 1
  done
}

start_process() {  # start_process NAME PORT COMMAND... (env is inherited)
  local name=$1 port=$2; shift 2
  if is_running "$name"; then return 1; fi
  port_in_use "$port" && die "$name: port $port is already in use by a process this project did not start; set ${name^^}_PORT to another port"
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  # setsid: the server outlives this shell and is not hit by the caller's Ctrl-C.
  setsid nohup "$@" >"$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$name")"
}

minio_up() {
  if MINIO_ROOT_USER=$MINIO_ROOT_USER MINIO_ROOT_PASSWORD=$MINIO_ROOT_PASSWORD \
     MINIO_BROWSER=on MINIO_UPDATE=off \
     start_process minio "$MINIO_PORT" "$MINIO_BIN" server --quiet \
       --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
       "$STATE_DIR/data/minio"; then
    log "minio: starting on 127.0.0.1:$MINIO_PORT"
  fi
  wait_until 60 "minio" minio curl -sf "http://127.0.0.1:$MINIO_PORT/minio/health/ready"
  MINIO_PORT=$MINIO_PORT RAW_BUCKET=$RAW_BUCKET LAKE_BUCKET=$LAKE_BUCKET "$VENV/bin/python" \
    "$ROOT_DIR/scripts/provision_minio.py"
}

trino_etc() {  # the committed config, plus what is specific to this machine
  local etc=$STATE_DIR/trino/etc plugins=$STATE_DIR/trino/plugin
  rm -rf "$etc" "$plugins"; mkdir -p "$etc" "$plugins" "$STATE_DIR/trino/data"
  cp -r "$ROOT_DIR/trino/etc/." "$etc/"
  cat > "$etc/node.properties" <<PROPS
node.environment=local
node.id=local-coordinator
node.data-dir=$STATE_DIR/trino/data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
PROPS
  for plugin in delta-lake tpch; do ln -s "$TRINO_HOME/plugin/$plugin" "$plugins/$plugin"; done
  # Trino's own file-based access control: analysts read gold and serving only.
  printf 'access-control.name=file\nsecurity.config-file=%s\n' "$etc/rules.json" > "$etc/access-control.properties"
}

trino_ready() {
  curl -sf "http://127.0.0.1:$TRINO_PORT/v1/info" | grep -q '"starting":false' &&
    "$JAVA_17" -jar "$TRINO_CLI_JAR" --server "http://127.0.0.1:$TRINO_PORT" --user healthcheck \
      --execute 'SELECT 1' | grep -q 1
}

trino_up() {
  local java_home; java_home=$(trino_java_home)
  [ -n "$java_home" ] || die "no JDK >= $MIN_TRINO_JAVA for Trino: run 'make setup'"
  if ! is_running trino; then trino_etc; fi
  if JAVA_HOME=$java_home PATH="$java_home/bin:$PATH" TRINO_PORT=$TRINO_PORT \
     TRINO_PLUGIN_DIR=$STATE_DIR/trino/plugin LAKE_BUCKET=$LAKE_BUCKET \
     S3_ENDPOINT="http://127.0.0.1:$MINIO_PORT" \
     TRINO_S3_ACCESS_KEY=$TRINO_S3_ACCESS_KEY TRINO_S3_SECRET_KEY=$TRINO_S3_SECRET_KEY \
     start_process trino "$TRINO_PORT" "$TRINO_HOME/bin/launcher" run \
       --etc-dir "$STATE_DIR/trino/etc" --data-dir "$STATE_DIR/trino/data"; then
    log "trino: starting on 127.0.0.1:$TRINO_PORT (a minute or so on 2 cores)"
  fi
  wait_until 300 "trino" trino trino_ready
}

stop() {  # stop NAME: only the pid we recorded, TERM then KILL
  local name=$1 file pid; file=$(pid_file "$name")
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: stopping (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$file"
}

status() {
  local name port rc=0
  for name in minio trino; do
    port=MINIO_PORT; [ $name = trino ] && port=TRINO_PORT
    if is_running "$name"; then
      printf '%-6s running  pid %-8s 127.0.0.1:%s\n' "$name" "$(cat "$(pid_file "$name")")" "${!port}"
    else
      printf '%-6s stopped\n' "$name"; rc=3
    fi
  done
  return $rc
}

JAVA_17=${JAVA_17:-java}
case "${1:-}" in
  up)
    load_secrets
    minio_up
    trino_up
    write_jobs_env
    log "up: minio http://127.0.0.1:$MINIO_PORT (console :$MINIO_CONSOLE_PORT), trino http://127.0.0.1:$TRINO_PORT"
    ;;
  down) stop trino; stop minio ;;
  status) status ;;
  is-up) status >/dev/null ;;
  *) die "usage: $0 up|down|status|is-up" ;;
esac
