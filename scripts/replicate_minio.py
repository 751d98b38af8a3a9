"""Keep the backup MinIO in sync with the primary through MinIO's site replication (idempotent).

Run by `make up BACKUP=1` with the root credentials, after the primary is provisioned
(scripts/provision_minio.py). Site replication copies the buckets, their objects and
versions, the users and the policies both ways, so the jobs' credentials work on either
endpoint and the runs made on the backup during an outage flow back to the primary when
it returns. It needs versioned buckets (it turns versioning on): a lifecycle rule
expires versions that are no longer current after a week, so what VACUUM deletes does
not stay stored forever.
"""

from __future__ import annotations

import json
import os
import sys

from minio import Minio, MinioAdmin
from minio.commonconfig import ENABLED, Filter
from minio.credentials import StaticProvider
from minio.lifecycleconfig import LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.minioadmin import PeerSite

NONCURRENT_DAYS = 7


def main() -> int:
    env = os.environ
    primary, backup = f"127.0.0.1:{env['MINIO_PORT']}", f"127.0.0.1:{env['MINIO_BACKUP_PORT']}"
    user, password = env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"]
    root = StaticProvider(user, password)
    admin = MinioAdmin(endpoint=primary, credentials=root, secure=False)
    info = json.loads(admin.get_site_replication_info())
    peers = {site.get("endpoint") for site in info.get("sites", [])}
    if not info.get("enabled"):
        admin.add_site_replication(
            [
                PeerSite("primary", f"http://{primary}", user, password),
                PeerSite("backup", f"http://{backup}", user, password),
            ]
        )
    elif f"http://{backup}" not in peers:
        print(f"error: {primary} replicates with {sorted(peers)}, not with {backup}", file=sys.stderr)
        return 1
    client = Minio(primary, credentials=root, secure=False)
    rule = Rule(
        ENABLED,
        rule_filter=Filter(prefix=""),
        rule_id="expire-noncurrent-versions",
        noncurrent_version_expiration=NoncurrentVersionExpiration(noncurrent_days=NONCURRENT_DAYS),
    )
    for bucket in client.list_buckets():
        client.set_bucket_lifecycle(bucket.name, LifecycleConfig([rule]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
