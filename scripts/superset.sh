#!/usr/bin/env bash
# Superset with the local stack's configuration (make up writes it):
#   scripts/superset.sh import    import superset/assets (make superset-import)
#   scripts/superset.sh export    write the running Superset's dashboards back to superset/assets
#   scripts/superset.sh ARGS...   any superset command, e.g. `fab list-users`
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ -f "$SUPERSET_HOME_DIR/superset_config.py" ] || die "no Superset configuration: run 'make up' first"
ASSETS_TOOL=("$SUPERSET_VENV/bin/python" "$ROOT_DIR/scripts/superset_assets.py")

# A chart's saved query (query_context) names its dataset by numeric id, which differs
# between Superset instances, so the committed YAML leaves it out and the import does
# not set it: set it here to the dataset the chart was imported onto. Without it Superset
# cannot list a dashboard's datasets (HTTP 422) and the dashboard shows no chart.
link_saved_queries() {
  load_secrets
  PGPASSWORD=$SUPERSET_DB_PASSWORD "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U superset \
    -d superset -qtAX -v ON_ERROR_STOP=1 -c "
    UPDATE slices
    SET query_context = jsonb_set(query_context::jsonb, '{datasource}',
                                  jsonb_build_object('id', datasource_id, 'type', datasource_type))::text
    WHERE coalesce(query_context, '') <> ''
      AND query_context::jsonb -> 'datasource' IS DISTINCT FROM
          jsonb_build_object('id', datasource_id, 'type', datasource_type)" ||
    die "superset: could not link the charts' saved queries to their datasets"
}

case "${1:-}" in
  import)
    # The committed YAML names no server: the analyst's Trino URI is filled in here, in a
    # copy under .local/ (Superset keeps the password encrypted with its secret key and
    # masks it in exports). HTTPS is set in the committed connect_args; `verify` names
    # the certificate to trust. import-directory --overwrite updates every object by its
    # uuid (import-dashboards would update the dashboard but never its charts or datasets).
    load_secrets
    bundle_dir=$SUPERSET_HOME_DIR/import
    rm -rf "$bundle_dir"; (umask 077; mkdir -p "$bundle_dir")
    TRINO_USER=analyst TRINO_PASSWORD=$TRINO_ANALYST_PASSWORD TRINO_HOST=127.0.0.1 TRINO_PORT=$TRINO_PORT \
      TRINO_CA_FILE=$TRINO_TLS_CERT "${ASSETS_TOOL[@]}" prepare "$SUPERSET_ASSETS" "$bundle_dir/lakehouse"
    log "superset: importing the dashboards from $SUPERSET_ASSETS"
    superset_cli import-directory --overwrite "$bundle_dir/lakehouse" > "$LOG_DIR/superset-import.log" 2>&1 ||
      die "superset: import failed; see $LOG_DIR/superset-import.log"
    # It exits 0 on an invalid file, having only logged it.
    ! grep -q ':ERROR:' "$LOG_DIR/superset-import.log" ||
      die "superset: import failed; see $LOG_DIR/superset-import.log"
    link_saved_queries
    rm -rf "$bundle_dir"  # it holds the analyst's password; Superset keeps its own, encrypted
    rm -f "$SUPERSET_HOME_DIR"/.imported-*; touch "$(superset_import_stamp)"
    ;;
  export)
    export_zip=$SUPERSET_HOME_DIR/export.zip
    rm -f "$export_zip"
    superset_cli export-dashboards --dashboard-file "$export_zip" > "$LOG_DIR/superset-export.log" 2>&1 ||
      die "superset: export failed; see $LOG_DIR/superset-export.log"
    "${ASSETS_TOOL[@]}" collect "$export_zip" "$SUPERSET_ASSETS"
    log "superset: exported the dashboards into $SUPERSET_ASSETS (git diff shows what changed)"
    ;;
  "") die "usage: $0 import|export|SUPERSET-ARGS..." ;;
  *) superset_cli "$@" ;;
esac
