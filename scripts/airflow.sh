#!/usr/bin/env bash
# The airflow command with the local stack's configuration: scripts/airflow.sh dags list
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ -f "$AIRFLOW_ENV_FILE" ] || die "$AIRFLOW_ENV_FILE is missing: run 'make up' first"
set -a
# shellcheck disable=SC1090
. "$AIRFLOW_ENV_FILE"
set +a
export PATH="$SPARK_HOME/bin:$PATH"
exec "$AIRFLOW_VENV/bin/airflow" "$@"
