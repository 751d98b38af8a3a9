#!/usr/bin/env bash
# make image / make image-smoke: build the jobs image (Dockerfile) with buildah, no
# Docker engine and no registry, and run the smoke job inside it against the local stack.
#   image.sh build   Debian's buildah and debootstrap if missing (apt-get), a bookworm base
#                    made with debootstrap (once), then `buildah bud` with its layer cache
#   image.sh smoke   `lakehouse smoke` in a container of the image, against MinIO and Trino
#                    on 127.0.0.1; the credentials come from .local/, never into the image
#   image.sh run ARGS  `buildah run ARGS` (a container, `--`, a command), retried on the
#                    one start-up failure below
#   image.sh name    prints the image's name
set -euo pipefail
. "$(dirname "$0")/common.sh"

BASE_IMAGE=lakehouse/debian-base:bookworm   # the Dockerfile's ARG BASE_IMAGE
IMAGE=lakehouse/jobs:$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT_DIR/pyproject.toml" | head -n1)
# No OCI runtime works in this sandbox (runc, podman); chroot isolation needs only root.
export BUILDAH_ISOLATION=chroot

install_tools() {
  command -v buildah >/dev/null && command -v debootstrap >/dev/null && return
  [ "$(id -u)" = 0 ] || die "buildah and debootstrap are missing: sudo apt-get install buildah debootstrap"
  log "image: installing buildah and debootstrap (apt-get) — once"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends buildah debootstrap >/dev/null
}

# A minimal Debian bookworm as an image, made here: no base image can be pulled.
build_base() {
  buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 && return
  log "image: $BASE_IMAGE with debootstrap --variant=minbase — about a minute, once"
  local container rootfs
  container=$(buildah from scratch)
  rootfs=$(buildah mount "$container")
  if ! debootstrap --variant=minbase bookworm "$rootfs" > "$LOG_DIR/debootstrap.log" 2>&1; then
    buildah rm "$container" >/dev/null
    die "debootstrap failed; see $LOG_DIR/debootstrap.log"
  fi
  # The host's Debian sources (updates and security included), when it has them.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  buildah umount "$container" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd /bin/bash "$container"
  buildah commit --quiet --rm "$container" "$BASE_IMAGE" >/dev/null
}

build() {
  mkdir -p "$LOG_DIR"
  install_tools
  build_base
  log "image: buildah bud $IMAGE (cached layers; a first build downloads ~1.5 GB, several minutes)"
  # The host's CAs for the downloads (behind a TLS-inspecting proxy), as build secrets.
  local secrets=()
  [ -f /etc/ssl/certs/ca-certificates.crt ] && secrets+=(--secret "id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt")
  [ -f /etc/ssl/certs/java/cacerts ] && secrets+=(--secret "id=java-cacerts,src=/etc/ssl/certs/java/cacerts")
  # --layers keeps every step's layer: a second build reuses all that did not change.
  # Docker format: OCI image configs have no SHELL, and the Dockerfile's RUNs need bash.
  buildah bud --layers --force-rm --format docker --pull=never "${secrets[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --tag "$IMAGE" --file "$ROOT_DIR/Dockerfile" "$ROOT_DIR" > "$LOG_DIR/image-build.log" 2>&1 ||
    die "buildah bud failed; see $LOG_DIR/image-build.log"
  log "image: $IMAGE built ($(buildah images --format '{{.Size}}' "$IMAGE"))"
}

# `buildah run` re-executes buildah from a sealed in-memory copy of itself before it
# starts anything in the container. Sealing that copy can fail with EBUSY while the
# kernel still holds a page of it for a moment ("sealing memfd copy: Device or resource
# busy", seen once in many CI runs). The container's command has not started then, so
# running again is safe; any other failure is the command's own and is returned as is.
run_in_container() {
  local errors attempt rc
  errors=$(mktemp)
  for attempt in 1 2 3; do
    rc=0
    buildah run "$@" 2> "$errors" || rc=$?
    cat "$errors" >&2
    [ "$rc" -ne 0 ] && [ "$attempt" -lt 3 ] && grep -q "sealing memfd copy" "$errors" || break
    log "image: buildah could not seal its copy of itself (attempt $attempt); running again"
    sleep 1
  done
  rm -f "$errors"
  return "$rc"
}

smoke() {
  buildah inspect --type image "$IMAGE" >/dev/null 2>&1 || die "no image $IMAGE: run 'make image' first"
  load_secrets
  local container rc=0
  # A host name that resolves (as a pod's does); loopback is the host's (no network
  # namespace), so the endpoints are those of the local jobs.
  container=$(buildah from --pull=never --add-host lakehouse-smoke:127.0.0.1 "$IMAGE")
  run_in_container --hostname lakehouse-smoke --env SPARK_LOCAL_IP=127.0.0.1 \
    --env LAKEHOUSE_WAREHOUSE="s3a://$LAKE_BUCKET" --env LAKEHOUSE_LAKE_BUCKET="$LAKE_BUCKET" \
    --env LAKEHOUSE_S3_ENDPOINT="http://127.0.0.1:$MINIO_PORT" \
    --env LAKEHOUSE_S3_ACCESS_KEY="$JOBS_S3_ACCESS_KEY" --env LAKEHOUSE_S3_SECRET_KEY="$JOBS_S3_SECRET_KEY" \
    --env LAKEHOUSE_TRINO_PORT="$TRINO_PORT" --env LAKEHOUSE_TRINO_PASSWORD="$TRINO_PIPELINE_PASSWORD" \
    --volume "$TRINO_TLS_CERT:/etc/lakehouse/trino-ca.pem:ro" --env LAKEHOUSE_TRINO_CA_FILE=/etc/lakehouse/trino-ca.pem \
    --env LAKEHOUSE_SPARK_MASTER="local[2]" --env LAKEHOUSE_SPARK_DRIVER_MEMORY=1g \
    "$container" -- /opt/entrypoint.sh lakehouse smoke || rc=$?
  buildah rm "$container" >/dev/null
  return "$rc"
}

case "${1:-build}" in
  build) build ;;
  smoke) smoke ;;
  run) shift; run_in_container "$@" ;;
  name) echo "$IMAGE" ;;
  *) die "usage: $0 [build|smoke|run ARGS|name]" ;;
esac
