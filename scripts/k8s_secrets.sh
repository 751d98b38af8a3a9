#!/usr/bin/env bash
# k8s_secrets.sh OVERLAY: write the overlay's secret env files (k8s/overlays/OVERLAY/
# secrets/*.env, git-ignored) from k8s/secrets.example/*.env.example, with a random value
# for every key left empty. Existing files and values are kept: run it again after a key
# is added to an example. kustomize's secretGenerator reads these files.
set -euo pipefail
K8S_DIR=${K8S_DIR:-$(cd "$(dirname "$0")/../k8s" && pwd)}
overlay=${1:?usage: k8s_secrets.sh OVERLAY (local or prod)}
target=$K8S_DIR/overlays/$overlay/secrets
[ -d "$K8S_DIR/overlays/$overlay" ] || { echo "error: no overlay $overlay" >&2; exit 2; }
mkdir -p "$target"; chmod 700 "$target"

random_value() {  # a value of the shape each kind of key needs
  case $1 in
    *FERNET_KEY) openssl rand -base64 32 | tr '+/' '-_' ;;
    *PASSWORDS_JSON) printf '{"admin": "%s"}' "$(openssl rand -hex 12)" ;;
    *) openssl rand -hex 20 ;;
  esac
}

umask 077
for example in "$K8S_DIR"/secrets.example/*.env.example; do
  file=$target/$(basename "$example" .example)
  touch "$file"
  while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    key=${line%%=*}
    grep -q "^$key=" "$file" || echo "$key=$(random_value "$key")" >> "$file"
  done < "$example"
done
echo "secrets for overlay $overlay in $target"
