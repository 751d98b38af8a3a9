#!/usr/bin/env bash
# make up / down / status: the local servers as plain processes on 127.0.0.1.
# Each has a pid file under .local/run; `down` stops only the pids recorded there.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/processes.sh"

minio_server() {  # minio_server NAME PORT CONSOLE_PORT: one MinIO on its own data directory
  local name=$1 port=$2 console=$3
  if MINIO_ROOT_USER=$MINIO_ROOT_USER MINIO_ROOT_PASSWORD=$MINIO_ROOT_PASSWORD \
     MINIO_BROWSER=on MINIO_UPDATE=off \
     start_process "$name" "$port" "$MINIO_BIN" server --quiet \
       --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
       "$STATE_DIR/data/$name"; then
    log "$name: starting on 127.0.0.1:$port"
  fi
  wait_until 60 "$name" "$name" curl -sf "http://127.0.0.1:$port/minio/health/ready"
}

minio_up() {
  minio_server minio "$MINIO_PORT" "$MINIO_CONSOLE_PORT"
  MINIO_PORT=$MINIO_PORT RAW_BUCKET=$RAW_BUCKET LAKE_BUCKET=$LAKE_BUCKET "$VENV/bin/python" \
    "$ROOT_DIR/scripts/provision_minio.py"
}

minio_backup_up() {  # the backup, in sync with the primary through MinIO's site replication
  minio_server minio-backup "$MINIO_BACKUP_PORT" "$MINIO_BACKUP_CONSOLE_PORT"
  MINIO_PORT=$MINIO_PORT MINIO_BACKUP_PORT=$MINIO_BACKUP_PORT "$VENV/bin/python" \
    "$ROOT_DIR/scripts/replicate_minio.py"
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
  if [ "$BACKUP" = 1 ]; then  # the same lake and metastore (replicated), through the backup
    sed 's/ENV:S3_ENDPOINT}/ENV:S3_BACKUP_ENDPOINT}/' "$etc/catalog/delta.properties" > "$etc/catalog/delta_backup.properties"
  fi
  for plugin in delta-lake tpch password-authenticators; do ln -s "$TRINO_HOME/plugin/$plugin" "$plugins/$plugin"; done
  # Trino's own file-based access control: analysts read gold and serving only.
  printf 'access-control.name=file\nsecurity.config-file=%s\n' "$etc/rules.json" > "$etc/access-control.properties"
  # Who is asking: Trino's file authenticator, one bcrypt hash per identity.
  printf 'password-authenticator.name=file\nfile.password-file=%s\n' "$etc/password.db" \
    > "$etc/password-authenticator.properties"
  (umask 077; trino_password_file pipeline analyst > "$etc/password.db")
}

trino_password_file() {  # trino_password_file USER...: "user:hash" lines, from the secrets
  load_secrets
  "$VENV/bin/python" - "$@" <<'PY'
import os, sys

import bcrypt

for user in sys.argv[1:]:
    password = os.environ[f"TRINO_{user.upper()}_PASSWORD"].encode()
    digest = bcrypt.hashpw(password, bcrypt.gensalt(rounds=10)).decode()
    print(f"{user}:$2y${digest[4:]}")  # Trino reads bcrypt as $2y$ (the same algorithm as $2b$)
PY
}

trino_cli() {  # trino_cli USER ARGS...: Trino's CLI over HTTPS, logged in as USER
  local user=$1; shift
  load_secrets
  local login_var="TRINO_${user^^}_PASSWORD"
  [ -n "${!login_var:-}" ] || die "trino: no password for user '$user' (the identities are pipeline and analyst)"
  TRINO_PASSWORD=${!login_var} "$JAVA_17" -Dorg.jline.terminal.dumb=true -jar "$TRINO_CLI_JAR" \
    --server "https://127.0.0.1:$TRINO_PORT" --truststore-path "$TRINO_TLS_CERT" \
    --user "$user" --password --catalog delta "$@"
}

trino_ready() {
  curl -sf --cacert "$TRINO_TLS_CERT" "https://127.0.0.1:$TRINO_PORT/v1/info" | grep -q '"starting":false' &&
    trino_cli analyst --execute 'SELECT 1' | grep -q 1
}

trino_up() {
  local java_home; java_home=$(trino_java_home)
  [ -n "$java_home" ] || die "no JDK >= $MIN_TRINO_JAVA for Trino: run 'make setup'"
  if ! is_running trino; then trino_etc; fi
  [ -f "$TRINO_TLS_KEYSTORE" ] || die "no TLS certificate for Trino: run 'make setup'"
  load_secrets
  if JAVA_HOME=$java_home PATH="$java_home/bin:$PATH" TRINO_PORT=$TRINO_PORT \
     TRINO_INTERNAL_PORT=$TRINO_INTERNAL_PORT TRINO_TLS_KEYSTORE=$TRINO_TLS_KEYSTORE \
     TRINO_INTERNAL_SECRET=$TRINO_INTERNAL_SECRET \
     TRINO_PLUGIN_DIR=$STATE_DIR/trino/plugin LAKE_BUCKET=$LAKE_BUCKET \
     S3_ENDPOINT="http://127.0.0.1:$MINIO_PORT" S3_BACKUP_ENDPOINT="http://127.0.0.1:$MINIO_BACKUP_PORT" \
     TRINO_S3_ACCESS_KEY=$TRINO_S3_ACCESS_KEY TRINO_S3_SECRET_KEY=$TRINO_S3_SECRET_KEY \
     start_process trino "$TRINO_PORT" "$TRINO_HOME/bin/launcher" run \
       --etc-dir "$STATE_DIR/trino/etc" --data-dir "$STATE_DIR/trino/data"; then
    log "trino: starting on 127.0.0.1:$TRINO_PORT (a minute or so on 2 cores)"
  fi
  wait_until 300 "trino" trino trino_ready
}

# -- PostgreSQL: the metadata database of Airflow (and Superset, the Hive Metastore) ----

as_unprivileged() {  # PostgreSQL refuses to run as root: as root, run it as uid 1000 of a
  # user namespace of its own (files stay ours; no system user is created or needed).
  if [ "$(id -u)" = 0 ]; then unshare --user --map-user=1000 --map-group=1000 -- "$@"; else "$@"; fi
}

postgres_up() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if [ ! -f "$POSTGRES_DATA/PG_VERSION" ]; then
    [ -x "$POSTGRES_BIN/initdb" ] || die "no PostgreSQL server: run 'make setup'"
    log "postgres: initialising $POSTGRES_DATA"
    local pwfile; pwfile=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    rm -rf "$POSTGRES_DATA"; mkdir -p "$(dirname "$POSTGRES_DATA")"
    as_unprivileged "$POSTGRES_BIN/initdb" -D "$POSTGRES_DATA" -U postgres --pwfile="$pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --no-instructions > "$LOG_DIR/postgres-initdb.log" 2>&1 ||
      { rm -f "$pwfile"; die "postgres: initdb failed; see $LOG_DIR/postgres-initdb.log"; }
    rm -f "$pwfile"
  fi
  if ! is_running postgres; then
    port_in_use "$POSTGRES_PORT" && die "postgres: port $POSTGRES_PORT is already in use by a process this project did not start; set POSTGRES_PORT to another port"
    log "postgres: starting on 127.0.0.1:$POSTGRES_PORT"
    # TCP on loopback only: no Unix socket (-k ''). pg_ctl daemonises; the pid is the postmaster's.
    as_unprivileged "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -l "$LOG_DIR/postgres.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $POSTGRES_PORT -k ''" start > /dev/null ||
      die "postgres: did not start; see $LOG_DIR/postgres.log"
    head -n1 "$POSTGRES_DATA/postmaster.pid" > "$(pid_file postgres)"
  fi
  wait_until 30 "postgres" postgres "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres
  postgres_database airflow "$AIRFLOW_DB_PASSWORD"
  postgres_database superset "$SUPERSET_DB_PASSWORD"
}

# -- Airflow: API server, scheduler, DAG processor and triggerer, LocalExecutor ------------

airflow_up() {
  write_airflow_env
  # shellcheck disable=SC1090
  set -a; . "$AIRFLOW_ENV_FILE"; set +a
  export PATH="$SPARK_HOME/bin:$PATH"
  mkdir -p "$AIRFLOW_HOME"
  local migrated=$AIRFLOW_HOME/.migrated-$(sha256sum "$ROOT_DIR/airflow/uv.lock" | cut -c1-12)
  if [ ! -f "$migrated" ]; then
    log "airflow: migrating its metadata database (PostgreSQL, ~30 s once)"
    "$AIRFLOW_VENV/bin/airflow" db migrate > "$LOG_DIR/airflow-migrate.log" 2>&1 ||
      die "airflow: db migrate failed; see $LOG_DIR/airflow-migrate.log"
    touch "$migrated"
  fi
  "$VENV/bin/lakehouse" spark-properties > "$AIRFLOW_VAR_LAKEHOUSE_SPARK_PROPERTIES"
  local started=no
  start_process airflow-api "$AIRFLOW_PORT" "$AIRFLOW_VENV/bin/airflow" api-server && started=yes
  for component in scheduler dag-processor triggerer; do
    if ! is_running "airflow-$component"; then
      mkdir -p "$RUN_DIR" "$LOG_DIR"
      setsid nohup "$AIRFLOW_VENV/bin/airflow" "$component" > "$LOG_DIR/airflow-$component.log" 2>&1 < /dev/null &
      echo $! > "$(pid_file "airflow-$component")"
    fi
  done
  [ $started = yes ] && log "airflow: starting on 127.0.0.1:$AIRFLOW_PORT (about a minute on 2 cores)"
  wait_until 240 "airflow" airflow-api curl -sf "http://127.0.0.1:$AIRFLOW_PORT/api/v2/monitor/health"
  # One slot shared by the daily and the backfill DAG: never two runs on the tables at once.
  "$AIRFLOW_VENV/bin/airflow" pools set lakehouse_tables 1 "curation runs on the lake's tables, one at a time" \
    > /dev/null 2>&1 || die "airflow: could not create the lakehouse_tables pool"
}

# -- Superset: gunicorn on loopback, metadata in PostgreSQL, dashboards imported from YAML --

superset_admin_exists() {
  [ -n "$(PGPASSWORD=$SUPERSET_DB_PASSWORD "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" \
    -U superset -d superset -qtAX -c "SELECT 1 FROM ab_user WHERE username = 'admin'")" ]
}

superset_up() {
  write_superset_config
  local migrated=$SUPERSET_HOME_DIR/.migrated-$(sha256sum "$ROOT_DIR/superset/uv.lock" | cut -c1-12)
  if [ ! -f "$migrated" ]; then
    log "superset: migrating its metadata database and creating its roles (PostgreSQL, once)"
    { superset_cli db upgrade && superset_cli init; } > "$LOG_DIR/superset-migrate.log" 2>&1 ||
      die "superset: db upgrade / init failed; see $LOG_DIR/superset-migrate.log"
    touch "$migrated"
  fi
  if ! superset_admin_exists; then
    superset_cli fab create-admin --username admin --firstname Lakehouse --lastname Admin \
      --email admin@localhost --password "$SUPERSET_ADMIN_PASSWORD" > "$LOG_DIR/superset-admin.log" 2>&1 &&
      superset_admin_exists || die "superset: could not create the admin user; see $LOG_DIR/superset-admin.log"
    log "superset: created the admin user (password SUPERSET_ADMIN_PASSWORD in $SECRETS_FILE)"
  fi
  # gthread workers: a query to Trino blocks a thread, not a process. Two processes at
  # most: each idle worker holds the whole app in memory. No control socket: gunicorn's
  # default one is a single path under $HOME, shared by every clone.
  if SUPERSET_CONFIG_PATH=$SUPERSET_HOME_DIR/superset_config.py SUPERSET_HOME=$SUPERSET_HOME_DIR \
     REQUESTS_CA_BUNDLE=$TRINO_CA_BUNDLE start_process superset "$SUPERSET_PORT" "$SUPERSET_VENV/bin/gunicorn" \
       --bind "127.0.0.1:$SUPERSET_PORT" --workers "${SUPERSET_WORKERS:-2}" --worker-class gthread \
       --threads 4 --timeout 120 --no-control-socket \
       "superset.app:create_app()"; then
    log "superset: starting on 127.0.0.1:$SUPERSET_PORT"
  fi
  wait_until 180 "superset" superset curl -sf "http://127.0.0.1:$SUPERSET_PORT/health"
  # The dashboards are imported when they changed since the last import (or the port
  # of Trino did); `make superset-import` imports them regardless.
  [ -f "$(superset_import_stamp)" ] || bash "$ROOT_DIR/scripts/superset.sh" import
}

postgres_down() {
  if is_running postgres; then
    log "postgres: stopping (pid $(cat "$(pid_file postgres)"))"
    as_unprivileged "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DATA" -m fast -w -t 60 stop > /dev/null || stop postgres
  fi
  rm -f "$(pid_file postgres)"
}

SERVERS=(minio trino postgres airflow-api airflow-scheduler airflow-dag-processor airflow-triggerer superset)
[ "$BACKUP" = 1 ] && SERVERS=(minio minio-backup "${SERVERS[@]:1}")

status() {
  local name port rc=0
  for name in "${SERVERS[@]}"; do
    case $name in
      minio) port=$MINIO_PORT ;; minio-backup) port=$MINIO_BACKUP_PORT ;; trino) port=$TRINO_PORT ;; postgres) port=$POSTGRES_PORT ;;
      airflow-api) port=$AIRFLOW_PORT ;; superset) port=$SUPERSET_PORT ;; *) port=- ;;
    esac
    if is_running "$name"; then
      printf '%-22s running  pid %-8s 127.0.0.1:%s\n' "$name" "$(cat "$(pid_file "$name")")" "$port"
    else
      printf '%-22s stopped\n' "$name"; rc=3
    fi
  done
  return $rc
}

JAVA_17=${JAVA_17:-java}
case "${1:-}" in
  up)
    load_secrets
    minio_up
    [ "$BACKUP" = 1 ] && minio_backup_up
    trino_up
    write_jobs_env
    postgres_up
    airflow_up
    superset_up
    log "up: minio http://127.0.0.1:$MINIO_PORT (console :$MINIO_CONSOLE_PORT), trino https://127.0.0.1:$TRINO_PORT," \
        "postgres 127.0.0.1:$POSTGRES_PORT, airflow http://127.0.0.1:$AIRFLOW_PORT, superset http://127.0.0.1:$SUPERSET_PORT"
    ;;
  down)
    stop superset
    for component in triggerer dag-processor scheduler api; do stop "airflow-$component"; done
    postgres_down; stop trino; stop minio-backup; stop minio ;;
  status) status ;;
  is-up) status >/dev/null ;;
  trino-cli) shift; trino_cli "$@" ;;
  object-store)  # the object store alone (with its backup if BACKUP=1): the failover tests' own pair
    load_secrets; minio_up; if [ "$BACKUP" = 1 ]; then minio_backup_up; fi; write_jobs_env ;;
  trino) trino_up ;;  # Trino alone, on this state's object store (the failover tests' pair)
  object-store-down) stop trino; stop minio-backup; stop minio ;;
  *) die "usage: $0 up|down|status|is-up|object-store|trino|object-store-down|trino-cli USER [ARGS...]" ;;
esac
