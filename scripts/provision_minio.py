"""Create the buckets, policies and users of the local object store, and keep a backup
in sync with it by MinIO's own site replication (idempotent).

Run by `make up` with the root credentials. The jobs, Trino and the upstream loader
(the event generator) each get their own user whose policy (scripts/minio/*-policy.json)
grants only what they need. With MINIO_BACKUP_PORT set, the second MinIO becomes a
replication peer: site replication turns versioning on, creates the buckets there and
copies every object, delete, user and policy both ways, so either site can take the
writes while the other is away. Versioning keeps what is overwritten or deleted: a
lifecycle rule on each site (lifecycle rules do not replicate) expires those noncurrent
versions after NONCURRENT_DAYS, so VACUUM still frees space.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from string import Template

from minio import Minio, MinioAdmin
from minio.commonconfig import ENABLED, Filter
from minio.credentials import StaticProvider
from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.minioadmin import PeerSite

POLICY_DIR = Path(__file__).with_name("minio")
NONCURRENT_DAYS = 1


def provision(endpoint: str, root: StaticProvider, env: dict[str, str]) -> None:
    buckets = {"RAW_BUCKET": env["RAW_BUCKET"], "LAKE_BUCKET": env["LAKE_BUCKET"]}
    client = Minio(endpoint, credentials=root, secure=False)
    for bucket in buckets.values():
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)

    admin = MinioAdmin(endpoint=endpoint, credentials=root, secure=False)
    users = {
        "lakehouse-jobs": (env["JOBS_S3_ACCESS_KEY"], env["JOBS_S3_SECRET_KEY"]),
        "lakehouse-trino": (env["TRINO_S3_ACCESS_KEY"], env["TRINO_S3_SECRET_KEY"]),
        "lakehouse-loader": (env["LOADER_S3_ACCESS_KEY"], env["LOADER_S3_SECRET_KEY"]),
    }
    for policy_name, (access_key, secret_key) in users.items():
        template = (POLICY_DIR / f"{policy_name.removeprefix('lakehouse-')}-policy.json").read_text()
        policy = json.loads(Template(template).substitute(buckets))
        admin.policy_add(policy_name, policy=policy)
        admin.user_add(access_key, secret_key)
        attached = json.loads(admin.user_info(access_key)).get("policyName", "")
        if policy_name not in attached.split(","):
            admin.attach_policy([policy_name], user=access_key)


def replicate(primary: str, backup: str, root: StaticProvider, env: dict[str, str]) -> None:
    """Make the backup a site-replication peer of the primary (once), then expire
    noncurrent versions on both sites."""
    admin = MinioAdmin(endpoint=primary, credentials=root, secure=False)
    if not json.loads(admin.get_site_replication_info()).get("enabled"):
        user, password = env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"]
        admin.add_site_replication(
            [
                PeerSite("primary", f"http://{primary}", user, password),
                PeerSite("backup", f"http://{backup}", user, password),
            ]
        )
    expire_noncurrent = LifecycleConfig(
        [
            Rule(
                ENABLED,
                rule_filter=Filter(prefix=""),
                rule_id="expire-noncurrent-versions",
                noncurrent_version_expiration=NoncurrentVersionExpiration(noncurrent_days=NONCURRENT_DAYS),
                expiration=Expiration(expired_object_delete_marker=True),
            )
        ]
    )
    for site in (primary, backup):
        client = Minio(site, credentials=root, secure=False)
        for bucket in (env["RAW_BUCKET"], env["LAKE_BUCKET"]):
            client.set_bucket_lifecycle(bucket, expire_noncurrent)


def main() -> int:
    env = dict(os.environ)
    root = StaticProvider(env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"])
    primary = f"127.0.0.1:{env['MINIO_PORT']}"
    provision(primary, root, env)
    if env.get("MINIO_BACKUP_PORT"):
        replicate(primary, f"127.0.0.1:{env['MINIO_BACKUP_PORT']}", root, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
