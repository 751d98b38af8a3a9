#!/usr/bin/env bash
# make cluster-up / cluster-down: the scale-out topology rehearsed on loopback, beside the
# local stack (its MinIO and PostgreSQL): a Spark standalone master and two 1-core
# workers, a Hive Metastore on PostgreSQL, and a Trino coordinator with one worker whose
# `delta` catalog reads the lake through that metastore. Kubernetes runs the same engines
# (k8s/); here each is a process of its own with a pid file under .local/run.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/processes.sh"

CLUSTER_DIR=$STATE_DIR/cluster
SPARK_WORKERS=2
MASTER=org.apache.spark.deploy.master.Master
WORKER=org.apache.spark.deploy.worker.Worker

spark_daemon() {  # spark_daemon start|stop CLASS INSTANCE [ARGS...]: Spark's own daemon script
  [ -x "$VENV/bin/python" ] || return 0  # nothing installed, nothing started
  local spark_home; spark_home=$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  SPARK_HOME=$spark_home SPARK_IDENT_STRING=lakehouse SPARK_PID_DIR=$RUN_DIR SPARK_LOG_DIR=$LOG_DIR \
    SPARK_DAEMON_MEMORY=256m SPARK_WORKER_OPTS="$SPARK_WORKER_CLEANUP" \
    SPARK_WORKER_DIR=$CLUSTER_DIR/spark-work SPARK_LOCAL_IP=127.0.0.1 \
    "$spark_home/sbin/spark-daemon.sh" "$@" > /dev/null
}

# Each application's executors receive the jars (~600 MB) in its work directory: a worker
# deletes those of finished applications after an hour, and `down` deletes them all.
SPARK_WORKER_CLEANUP="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.interval=600 -Dspark.worker.cleanup.appDataTtl=3600"

# spark-daemon.sh names its pid files spark-<user>-<class>-<instance>.pid: link ours to them.
spark_pid_name() { printf 'spark-lakehouse-%s-%s' "$1" "$2"; }

spark_up() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$CLUSTER_DIR/spark-work"
  if ! is_running "$(spark_pid_name $MASTER 1)"; then
    port_in_use "$SPARK_MASTER_PORT" && die "spark-master: port $SPARK_MASTER_PORT is in use; set SPARK_MASTER_PORT"
    log "spark-master: starting on spark://127.0.0.1:$SPARK_MASTER_PORT (UI :$SPARK_MASTER_UI_PORT)"
    spark_daemon start $MASTER 1 --host 127.0.0.1 --port "$SPARK_MASTER_PORT" --webui-port "$SPARK_MASTER_UI_PORT"
  fi
  for n in $(seq "$SPARK_WORKERS"); do
    is_running "$(spark_pid_name $WORKER "$n")" && continue
    log "spark-worker-$n: starting (1 core, 2 GiB)"
    spark_daemon start $WORKER "$n" --host 127.0.0.1 --cores 1 --memory 2g \
      --webui-port $((SPARK_WORKER_UI_PORT + n - 1)) "spark://127.0.0.1:$SPARK_MASTER_PORT"
  done
  wait_until 120 "spark: $SPARK_WORKERS workers alive" "$(spark_pid_name $MASTER 1)" spark_workers_alive
}

spark_workers_alive() {
  curl -sf "http://127.0.0.1:$SPARK_MASTER_UI_PORT/json/" |
    "$VENV/bin/python" -c "import json, sys; sys.exit(json.load(sys.stdin)['aliveworkers'] < $SPARK_WORKERS)"
}

metastore_java() {  # metastore_java COMMAND...: run it with the environment metastore-site.xml reads
  METASTORE_HOME=$METASTORE_HOME POSTGRES_PORT=$POSTGRES_PORT METASTORE_PORT=$METASTORE_PORT \
    METASTORE_DB_PASSWORD=$METASTORE_DB_PASSWORD LAKE_BUCKET=$LAKE_BUCKET \
    S3_ENDPOINT="http://127.0.0.1:$MINIO_PORT" \
    METASTORE_S3_ACCESS_KEY=$METASTORE_S3_ACCESS_KEY METASTORE_S3_SECRET_KEY=$METASTORE_S3_SECRET_KEY \
    "$@"
}

METASTORE_CLASSPATH="$CLUSTER_DIR/metastore-conf:$METASTORE_HOME/lib/*:$METASTORE_HADOOP_LIB/*"

metastore_up() {
  [ -d "$METASTORE_HOME/lib" ] && compgen -G "$METASTORE_HADOOP_LIB/.complete-*" > /dev/null || die "no Hive Metastore: run 'make setup'"
  mkdir -p "$CLUSTER_DIR/metastore-conf"
  cp "$ROOT_DIR/cluster/metastore/metastore-site.xml" "$CLUSTER_DIR/metastore-conf/"
  cp "$METASTORE_HOME/conf/metastore-log4j2.properties" "$CLUSTER_DIR/metastore-conf/"
  postgres_database metastore "$METASTORE_DB_PASSWORD"
  if ! metastore_java java -cp "$METASTORE_CLASSPATH" \
       org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool -dbType postgres -info \
       > "$LOG_DIR/metastore-schema.log" 2>&1; then
    log "metastore: initialising its schema in PostgreSQL (database metastore)"
    metastore_java java -cp "$METASTORE_CLASSPATH" \
      org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool -dbType postgres -initSchema \
      >> "$LOG_DIR/metastore-schema.log" 2>&1 || die "metastore: schema init failed; see $LOG_DIR/metastore-schema.log"
  fi
  if metastore_java start_process metastore "$METASTORE_PORT" java -Xmx512m -cp "$METASTORE_CLASSPATH" \
       -Dmetastore.root.logger=console \
       org.apache.hadoop.hive.metastore.HiveMetaStore; then
    log "metastore: starting on thrift://127.0.0.1:$METASTORE_PORT"
  fi
  wait_until 120 "metastore" metastore port_in_use "$METASTORE_PORT"
}

trino_node_etc() {  # trino_node_etc ROLE: etc/ of one Trino node, from cluster/trino
  local role=$1 etc=$CLUSTER_DIR/trino-$1/etc
  rm -rf "$etc"; mkdir -p "$etc/catalog" "$CLUSTER_DIR/trino-$role/data" "$CLUSTER_DIR/trino-plugin"
  cp "$ROOT_DIR/cluster/trino/$role/config.properties" "$ROOT_DIR/cluster/trino/jvm.config" "$etc/"
  cp "$ROOT_DIR/cluster/trino/catalog/delta.properties" "$etc/catalog/"
  printf 'node.environment=rehearsal\nnode.id=%s\nnode.data-dir=%s\nnode.internal-address=127.0.0.1\n' \
    "$role" "$CLUSTER_DIR/trino-$role/data" > "$etc/node.properties"
  [ -e "$CLUSTER_DIR/trino-plugin/delta-lake" ] || ln -s "$TRINO_HOME/plugin/delta-lake" "$CLUSTER_DIR/trino-plugin/"
}

trino_node() {  # trino_node ROLE PORT
  local role=$1 port=$2 java_home; java_home=$(trino_java_home)
  [ -n "$java_home" ] || die "no JDK >= $MIN_TRINO_JAVA for Trino: run 'make setup'"
  is_running "trino-$role" || trino_node_etc "$role"
  if JAVA_HOME=$java_home PATH="$java_home/bin:$PATH" TRINO_COORDINATOR_PORT=$TRINO_COORDINATOR_PORT \
     TRINO_WORKER_PORT=$TRINO_WORKER_PORT TRINO_PLUGIN_DIR=$CLUSTER_DIR/trino-plugin \
     METASTORE_PORT=$METASTORE_PORT S3_ENDPOINT="http://127.0.0.1:$MINIO_PORT" \
     TRINO_S3_ACCESS_KEY=$TRINO_S3_ACCESS_KEY TRINO_S3_SECRET_KEY=$TRINO_S3_SECRET_KEY \
     start_process "trino-$role" "$port" "$TRINO_HOME/bin/launcher" run \
       --etc-dir "$CLUSTER_DIR/trino-$role/etc" --data-dir "$CLUSTER_DIR/trino-$role/data"; then
    log "trino-$role: starting on 127.0.0.1:$port"
  fi
}

trino_sql() {  # trino_sql SQL: the coordinator's answer, as Trino's CLI prints it
  "${JAVA_17:-java}" -Dorg.jline.terminal.dumb=true -jar "$TRINO_CLI_JAR" \
    --server "http://127.0.0.1:$TRINO_COORDINATOR_PORT" --user rehearsal --execute "$1"
}

trino_nodes_active() {  # the coordinator and its worker both active
  [ "$(trino_sql "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'")" = '"2"' ]
}

trino_up() {
  trino_node coordinator "$TRINO_COORDINATOR_PORT"
  trino_node worker "$TRINO_WORKER_PORT"
  wait_until 300 "trino-coordinator" trino-coordinator trino_nodes_active
}

cluster_env() {  # what a `lakehouse` command needs to run on the cluster (make cluster-env)
  cat <<ENV
LAKEHOUSE_SPARK_MASTER=spark://127.0.0.1:$SPARK_MASTER_PORT
LAKEHOUSE_TRINO_PORT=$TRINO_COORDINATOR_PORT
LAKEHOUSE_TRINO_SCHEME=http
LAKEHOUSE_TRINO_PASSWORD=
SPARK_MASTER_UI_PORT=$SPARK_MASTER_UI_PORT
ENV
}

case "${1:-}" in
  up)
    load_secrets
    is_running minio && is_running postgres || die "the cluster uses the stack's MinIO and PostgreSQL: run 'make up' first"
    spark_up
    metastore_up
    trino_up
    cluster_env > "$CLUSTER_DIR/cluster.env"
    log "cluster up: spark://127.0.0.1:$SPARK_MASTER_PORT (UI http://127.0.0.1:$SPARK_MASTER_UI_PORT)," \
        "metastore thrift://127.0.0.1:$METASTORE_PORT, trino http://127.0.0.1:$TRINO_COORDINATOR_PORT;" \
        "run a day on it: env \$(cat $CLUSTER_DIR/cluster.env) .venv/bin/lakehouse run --date D"
    ;;
  down)
    stop trino-worker; stop trino-coordinator; stop metastore
    for n in $(seq "$SPARK_WORKERS"); do spark_daemon stop $WORKER "$n" || true; done
    spark_daemon stop $MASTER 1 || true
    rm -rf "$CLUSTER_DIR"/spark-work/app-* ;;
  *) die "usage: $0 up|down" ;;
esac
