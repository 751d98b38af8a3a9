"""Create the buckets, policies and users of the local object store (idempotent).

Run by `make up` with the root credentials. The jobs, Trino, the upstream loader (the
event generator) and the cluster rehearsal's Hive Metastore each get their own user whose
policy (scripts/minio/*-policy.json) grants only what they need.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from string import Template

from minio import Minio, MinioAdmin
from minio.credentials import StaticProvider

POLICY_DIR = Path(__file__).with_name("minio")


def main() -> int:
    env = os.environ
    endpoint = f"127.0.0.1:{env['MINIO_PORT']}"
    root = StaticProvider(env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"])
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
        # the cluster rehearsal's Hive Metastore: reads the lake, creates schema directories
        "lakehouse-metastore": (env["METASTORE_S3_ACCESS_KEY"], env["METASTORE_S3_SECRET_KEY"]),
    }
    for policy_name, (access_key, secret_key) in users.items():
        template = (POLICY_DIR / f"{policy_name.removeprefix('lakehouse-')}-policy.json").read_text()
        policy = json.loads(Template(template).substitute(buckets))
        admin.policy_add(policy_name, policy=policy)
        admin.user_add(access_key, secret_key)
        attached = json.loads(admin.user_info(access_key)).get("policyName", "")
        if policy_name not in attached.split(","):
            admin.attach_policy([policy_name], user=access_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
