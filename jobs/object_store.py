"""The object store seen from the jobs: a boto3 client and an endpoint check."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from jobs.errors import AccessDenied, CredentialsRejected, EndpointUnreachable, LakehouseError
from jobs.settings import Settings

COMMIT_FILE = re.compile(r"\d{20}\.json")  # a Delta commit: 00000000000000000042.json
_REJECTED_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}


class ObjectsNotDeleted(LakehouseError):
    pass


def s3_client(settings: Settings, connect_timeout: float = 5, attempts: int = 2):
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        config=Config(
            s3={"addressing_style": "path"},
            connect_timeout=connect_timeout,
            read_timeout=60,
            retries={"max_attempts": attempts, "mode": "standard"},
        ),
    )


def copy_prefix(settings: Settings, bucket: str, source: str, target: str) -> int:
    """Copy every object under one key prefix to another, inside the store; returns how many.

    Used to clone a warehouse: Delta logs name their data files relatively."""
    client = s3_client(settings)
    keys = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=source)
        for obj in page.get("Contents", [])
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda key: client.copy_object(
                    Bucket=bucket, Key=target + key[len(source) :], CopySource={"Bucket": bucket, "Key": key}
                ),
                keys,
            )
        )
    return len(keys)


def delete_prefix(settings: Settings, bucket: str, prefix: str) -> int:
    """Delete every object under a key prefix; returns how many. A refused deletion raises:
    a batch delete answers 200 and lists what it did not delete, it raises nothing itself."""
    if not prefix.strip("/"):
        raise ValueError("refusing to delete a whole bucket")
    client = s3_client(settings)
    deleted = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if objects:
            refused = client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True}).get("Errors")
            if refused:
                first = refused[0]
                raise ObjectsNotDeleted(
                    f"the object store did not delete {len(refused)} of {len(objects)} objects under "
                    f"s3://{bucket}/{prefix} ({deleted} deleted before): {first.get('Code')} on "
                    f"{first.get('Key')}: {first.get('Message')}"
                )
            deleted += len(objects)
    return deleted


def check_object_store(settings: Settings, buckets: list[str], connect_timeout: float = 5) -> None:
    """Fail fast, in one line, if the store is away or refuses our credentials."""
    client = s3_client(settings, connect_timeout=connect_timeout, attempts=1 if connect_timeout < 5 else 2)
    for bucket in buckets:
        try:
            # A GET, not a HEAD: HEAD errors have no body, so a bad key and a
            # denied bucket would both read as a bare 403.
            client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        except EndpointConnectionError as exc:
            raise EndpointUnreachable(
                f"object store at {settings.s3_endpoint} is not reachable ({exc.__class__.__name__}); "
                "is it running? (make up)"
            ) from None
        except ClientError as exc:
            raise describe_client_error(exc, settings, f"bucket '{bucket}'") from None


def describe_client_error(exc: ClientError, settings: Settings, what: str) -> Exception:
    """Turn a botocore error into a one-line, actionable error."""
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _REJECTED_CREDENTIAL_CODES:
        return CredentialsRejected(
            f"object store at {settings.s3_endpoint} rejected the credentials of access key "
            f"'{settings.s3_access_key}' ({code}); check LAKEHOUSE_S3_ACCESS_KEY / LAKEHOUSE_S3_SECRET_KEY"
        )
    if code in {"AccessDenied", "403"} or status == 403:
        return AccessDenied(
            f"access denied to {what} for access key '{settings.s3_access_key}' at {settings.s3_endpoint}"
        )
    if code in {"NoSuchBucket", "404"} or status == 404:
        return EndpointUnreachable(f"{what} does not exist at {settings.s3_endpoint}")
    return exc


def split_s3_location(location: str) -> tuple[str, str]:
    """'s3a://bucket/some/key' -> ('bucket', 'some/key')."""
    bucket, _, key = location.removeprefix("s3a://").removeprefix("s3://").partition("/")
    return bucket, key


def delta_log_heads(settings: Settings, locations: dict[str, str]) -> dict[str, int]:
    """The newest commit version of each Delta table ({name: s3a location}) as this
    endpoint lists it, read from the object keys alone; tables with no log are left out."""
    client = s3_client(settings)

    def head(location: str) -> int | None:
        bucket, key = split_s3_location(location)
        log_prefix = key.rstrip("/") + "/_delta_log/"
        start_after, newest = "", None
        try:  # the last checkpoint bounds the listing: commits before it are not needed
            hint = json.loads(client.get_object(Bucket=bucket, Key=log_prefix + "_last_checkpoint")["Body"].read())
            newest = int(hint["version"])
            start_after = f"{log_prefix}{newest:020d}"
        except ClientError:
            pass
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=log_prefix, StartAfter=start_after
        )
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(log_prefix) :]
                if COMMIT_FILE.fullmatch(name):
                    newest = max(newest if newest is not None else -1, int(name[:20]))
        return newest

    with ThreadPoolExecutor(max_workers=8) as pool:
        heads = dict(zip(locations, pool.map(head, locations.values()), strict=True))
    return {name: version for name, version in heads.items() if version is not None}
