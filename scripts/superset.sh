#!/usr/bin/env bash
# Superset with the local stack's configuration (make up writes it):
#   scripts/superset.sh import    import superset/assets (make superset-import)
#   scripts/superset.sh export    write the running Superset's dashboards back to superset/assets
#   scripts/superset.sh ARGS...   any superset command, e.g. `fab list-users`
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ -f "$SUPERSET_HOME_DIR/superset_config.py" ] || die "no Superset configuration: run 'make up' first"
ASSETS_TOOL=("$SUPERSET_VENV/bin/python" "$ROOT_DIR/scripts/superset_assets.py")

case "${1:-}" in
  import)
    # The committed YAML names no server: the analyst's Trino URI is filled in here, in a
    # copy under .local/. import-directory --overwrite updates every object by its uuid
    # (import-dashboards would update the dashboard but never its charts or datasets).
    bundle_dir=$SUPERSET_HOME_DIR/import
    rm -rf "$bundle_dir"; mkdir -p "$bundle_dir"
    "${ASSETS_TOOL[@]}" prepare "$SUPERSET_ASSETS" "$bundle_dir/lakehouse" \
      "trino://analyst@127.0.0.1:$TRINO_PORT/delta"
    log "superset: importing the dashboards from $SUPERSET_ASSETS"
    superset_cli import-directory --overwrite "$bundle_dir/lakehouse" > "$LOG_DIR/superset-import.log" 2>&1 ||
      die "superset: import failed; see $LOG_DIR/superset-import.log"
    # It exits 0 on an invalid file, having only logged it.
    ! grep -q ':ERROR:' "$LOG_DIR/superset-import.log" ||
      die "superset: import failed; see $LOG_DIR/superset-import.log"
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
