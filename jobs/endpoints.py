"""The endpoint watch: before touching storage, choose the object store a run uses.

The configured endpoints (settings `s3_endpoints`: the primary, then its backups, kept in
sync by MinIO's site replication) are probed in order with short timeouts; the run uses
the first healthy one that has caught up with every other healthy one, and Trino is
checked too. A run chooses once, at its start, and never switches: Delta's log is only
safe when one endpoint takes a run's commits. `check_endpoints` is the one function the
commands, the jobs and the DAG's first task (`lakehouse check`) call.

Caught up means: every object of the buckets the run uses that another healthy endpoint
holds is there too, with the same content. A primary that comes back after an outage is
behind the backup until replication has copied the backup's commits to it; the watch
waits up to `s3_catch_up_seconds` for that and otherwise sends the run to the backup,
so that no run ever commits a Delta version on top of a log that lacks the last ones.
Two endpoints each holding writes the other lacks have forked: the watch refuses to run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from jobs.errors import EndpointUnreachable, LakehouseError
from jobs.object_store import check_object_store, s3_client
from jobs.settings import ObjectStoreEndpoint, Settings
from jobs.trino_catalog import check_trino, follow_endpoint

log = logging.getLogger("lakehouse.endpoints")

PROBE_TIMEOUT_SECONDS = 3
CATCH_UP_POLL_SECONDS = 1.0


class EndpointsDiverged(LakehouseError):
    """Each of two healthy endpoints holds writes the other lacks: a fork to resolve by hand."""


@dataclass(frozen=True)
class ObjectVersion:
    etag: str
    modified: float


def check_endpoints(settings: Settings, *, buckets: list[str], trino: bool) -> Settings:
    """The settings on the endpoint this run uses (see the module's text); one clear line
    naming every endpoint if none can serve. A local-directory warehouse needs no server."""
    if not settings.uses_object_store:
        return settings
    started = time.monotonic()
    healthy, away = probe(settings, buckets)
    if not healthy:
        raise EndpointUnreachable(
            "no object store endpoint answers: "
            + "; ".join(f"{endpoint.name}: {why}" for endpoint, why in away)
            + "; are they running? (make up)"
        )
    chosen = caught_up(healthy, buckets, settings.s3_catch_up_seconds)
    for endpoint, why in away:
        log.warning("object store %s is away: %s; the run uses %s", endpoint.name, why, named(chosen))
    log.info("object store: %s, chosen in %.1f s", named(chosen), time.monotonic() - started)
    if trino:
        check_trino(chosen)
        if len(settings.object_store_endpoints) > 1:  # with one endpoint there is nothing to follow
            follow_endpoint(chosen)
    return chosen


def run_buckets(settings: Settings) -> list[str]:
    """The buckets a curation run reads or writes."""
    return [settings.lake_bucket] + (
        [settings.raw_bucket_and_prefix[0]] if settings.raw_location.startswith("s3a://") else []
    )


def probe(settings: Settings, buckets: list[str]) -> tuple[list[Settings], list[tuple[ObjectStoreEndpoint, str]]]:
    """(the endpoints that answer, as settings on each; the others with what went wrong).
    Wrong credentials or a denied bucket are not an outage: they fail the run here."""
    healthy, away = [], []
    for endpoint in settings.object_store_endpoints:
        on_endpoint = settings.on_endpoint(endpoint)
        try:
            check_object_store(on_endpoint, buckets, timeout_seconds=PROBE_TIMEOUT_SECONDS)
        except EndpointUnreachable as exc:
            away.append((endpoint, str(exc)))
        else:
            healthy.append(on_endpoint)
    return healthy, away


def caught_up(healthy: list[Settings], buckets: list[str], wait_seconds: float) -> Settings:
    """The first healthy endpoint that lacks nothing another healthy one holds; waits for
    replication up to `wait_seconds`, then takes the first one that is ahead of the rest."""
    if len(healthy) == 1:
        return healthy[0]
    deadline = time.monotonic() + wait_seconds
    while True:
        lacking = objects_lacking([listing(s, buckets) for s in healthy])
        if lacking[0] == 0 or time.monotonic() >= deadline:
            break
        time.sleep(CATCH_UP_POLL_SECONDS)
    chosen = first_caught_up(lacking)
    if chosen is None:
        raise EndpointsDiverged(
            "the object store endpoints have diverged: "
            + ", ".join(f"{named(s)} lacks {n} objects the others hold" for s, n in zip(healthy, lacking, strict=True))
            + "; each took writes the other did not see (were they cut off from each other?): "
            "resolve the fork before running"
        )
    if chosen > 0:
        log.warning(
            "object store %s is up but %d objects behind: replication has not caught up, the run uses %s",
            named(healthy[0]),
            lacking[0],
            named(healthy[chosen]),
        )
    return healthy[chosen]


def objects_lacking(listings: list[dict[tuple[str, str], ObjectVersion]]) -> list[int]:
    """For each endpoint's listing, how many objects another endpoint holds that it lacks."""
    return [sum(len(missing(mine, other)) for other in listings) for mine in listings]


def first_caught_up(lacking: list[int]) -> int | None:
    """The first endpoint that lacks nothing, or None: each lacks what another holds."""
    return next((n for n, count in enumerate(lacking) if count == 0), None)


def named(settings: Settings) -> str:
    return f"{settings.s3_endpoint_name} ({settings.s3_endpoint})"


def listing(settings: Settings, buckets: list[str]) -> dict[tuple[str, str], ObjectVersion]:
    """Every current object a run reads or writes at one endpoint (the warehouse's and the
    raw files' prefixes of the buckets), with its ETag and time."""
    client = s3_client(settings)
    objects = {}
    prefixes = {
        settings.lake_bucket: settings.lake_key_prefix,
        settings.raw_bucket_and_prefix[0]: settings.raw_bucket_and_prefix[1],
    }
    try:
        for bucket in buckets:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefixes.get(bucket, ""))
            for page in pages:
                for obj in page.get("Contents", []):
                    objects[(bucket, obj["Key"])] = ObjectVersion(obj["ETag"], obj["LastModified"].timestamp())
    except (BotoCoreError, ClientError) as exc:
        raise EndpointUnreachable(
            f"object store at {settings.s3_endpoint} failed while listing its objects ({exc})"
        ) from None
    return objects


def missing(
    here: dict[tuple[str, str], ObjectVersion], there: dict[tuple[str, str], ObjectVersion]
) -> list[tuple[str, str]]:
    """The objects `there` holds that `here` lacks, or holds in an older version."""
    return [
        key
        for key, version in there.items()
        if key not in here or (here[key].etag != version.etag and here[key].modified < version.modified)
    ]
