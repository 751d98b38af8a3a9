#!/usr/bin/env bash
# k8s_secrets.sh OVERLAY: write the overlay's secret env files (k8s/overlays/OVERLAY/
# secrets/*.env, git-ignored) from k8s/secrets.example/*.env.example, with a random value
# for every key left empty. Existing files and values are kept: run it again after a key
# is added to an example. kustomize's secretGenerator reads these files.
# Beside them, Trino's files (Secret trino-auth, ConfigMap trino-ca): a self-signed TLS
# certificate for its in-cluster names, made once, and its password file, bcrypt hashes
# of the passwords above, rewritten only when they no longer match.
set -euo pipefail
K8S_DIR=${K8S_DIR:-$(cd "$(dirname "$0")/../k8s" && pwd)}
VENV_PYTHON=$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python  # has bcrypt (make setup)
overlay=${1:?usage: k8s_secrets.sh OVERLAY (local or prod)}
target=$K8S_DIR/overlays/$overlay/secrets
[ -d "$K8S_DIR/overlays/$overlay" ] || { echo "error: no overlay $overlay" >&2; exit 2; }
[ -x "$VENV_PYTHON" ] || { echo "error: no $VENV_PYTHON: run 'make setup'" >&2; exit 2; }
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

value_of() {  # value_of FILE KEY: KEY's value in one of the env files above
  grep "^$2=" "$target/$1" | head -n 1 | cut -d= -f2-
}

# Trino's certificate, for the names clients use in the overlay's namespace; it is its
# own CA, which clients trust (LAKEHOUSE_TRINO_CA_FILE). A real deployment takes one
# from the cluster's CA or cert-manager instead (docs/kubernetes.md).
if [ ! -f "$target/trino-keystore.pem" ] || [ ! -f "$target/trino-cert.pem" ]; then
  namespace=$(sed -n 's/^namespace: *//p' "$K8S_DIR/overlays/$overlay/kustomization.yaml")
  names="DNS:trino,DNS:trino.$namespace,DNS:trino.$namespace.svc,DNS:trino.$namespace.svc.cluster.local"
  openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 -subj "/CN=trino.$namespace.svc" \
    -addext "subjectAltName=$names" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -keyout "$target/trino-key.pem" -out "$target/trino-cert.pem" 2>/dev/null ||
    { echo "error: openssl could not make Trino's certificate" >&2; exit 1; }
  cat "$target/trino-key.pem" "$target/trino-cert.pem" > "$target/trino-keystore.pem"  # Trino's PEM keystore
  rm -f "$target/trino-key.pem"
fi

# Trino's password file: "user:$2y$..." lines (Trino reads bcrypt as $2y$, the same
# algorithm as Python's $2b$). Passwords reach Python by environment, not command line.
PASSWORD_pipeline=$(value_of lakehouse-jobs-trino.env LAKEHOUSE_TRINO_PASSWORD) \
PASSWORD_analyst=$(value_of superset.env TRINO_PASSWORD) \
  "$VENV_PYTHON" - "$target/trino-password.db" pipeline analyst <<'PY'
import os
import sys
from pathlib import Path

import bcrypt

path, users = Path(sys.argv[1]), sys.argv[2:]
passwords = {user: os.environ[f"PASSWORD_{user}"].encode() for user in users}
old = dict(line.split(":", 1) for line in path.read_text().splitlines() if ":" in line) if path.exists() else {}


def matches(user: str) -> bool:
    try:
        return bcrypt.checkpw(passwords[user], b"$2b$" + old[user][4:].encode())
    except ValueError:  # not a bcrypt hash
        return False


if set(old) == set(users) and all(matches(user) for user in users):
    sys.exit()  # unchanged: new salts would only roll Trino's coordinator
lines = [f"{u}:$2y${bcrypt.hashpw(passwords[u], bcrypt.gensalt(rounds=10)).decode()[4:]}" for u in users]
path.write_text("".join(line + "\n" for line in lines))
PY
echo "secrets for overlay $overlay in $target"
