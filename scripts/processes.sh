# Servers as plain processes: a pid file each under $RUN_DIR, a health check to wait on,
# and stop by the recorded pid only. Sourced (after common.sh), not run.

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


# -- PostgreSQL: databases of the stack's one server --------------------------------

psql_admin() {  # SQL on stdin, as the postgres superuser; prints unaligned tuples
  PGPASSWORD=$POSTGRES_PASSWORD "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres \
    -d postgres -v ON_ERROR_STOP=1 -qtAX
}

postgres_database() {  # postgres_database NAME PASSWORD: a database owned by a role of that name
  local name=$1 password=$2
  if [ -z "$(echo "SELECT 1 FROM pg_roles WHERE rolname = '$name'" | psql_admin)" ]; then
    echo "CREATE ROLE $name LOGIN PASSWORD '$password'" | psql_admin
    log "postgres: created role and database $name"
  fi
  [ -n "$(echo "SELECT 1 FROM pg_database WHERE datname = '$name'" | psql_admin)" ] ||
    echo "CREATE DATABASE $name OWNER $name" | psql_admin
}
