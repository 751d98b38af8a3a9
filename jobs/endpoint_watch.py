"""The endpoint watch: which object store a run writes through, decided once, before any work.

The object store endpoints (`LAKEHOUSE_S3_ENDPOINTS`, primary first) serve the same
buckets, kept in sync by the store's own replication (MinIO site replication). Before
a run, each endpoint is asked, with short timeouts, whether it answers for the run's
buckets; the run then goes to the first that does and has caught up with the others,
and keeps that endpoint to the end: a run never switches in the middle, so each Delta
commit is written through exactly one endpoint.

Caught up: for every table, the newest Delta commit this endpoint lists is at least
the newest any other answering endpoint lists. After an outage the primary returns
behind the backup (the runs made during the outage replicate back to it); until
replication has delivered them, runs stay on the backup, so the primary's log never
gets a commit that would fork it from the backup's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jobs.errors import EndpointUnreachable, LakehouseError
from jobs.object_store import check_object_store, delta_log_heads
from jobs.settings import Settings

log = logging.getLogger("endpoint_watch")

CONNECT_TIMEOUT_SECONDS = 2.0


class EndpointsDisagree(LakehouseError):
    """Every answering endpoint lacks commits another has: replication has not converged."""


@dataclass(frozen=True)
class EndpointChoice:
    endpoint: str
    is_primary: bool
    passed_over: tuple[str, ...]  # why each endpoint before it was not chosen, one line each

    def describe(self) -> str:
        role = "the primary" if self.is_primary else "a backup"
        reasons = f"; passed over: {'; '.join(self.passed_over)}" if self.passed_over else ""
        return f"{self.endpoint} ({role}{reasons})"


def choose_object_store(settings: Settings, buckets: list[str], tables: dict[str, str]) -> EndpointChoice:
    """The endpoint a run should use: the first (in configured order) that answers for
    `buckets` and whose Delta logs of `tables` ({name: s3a location}) are not behind
    another answering endpoint's. Raises EndpointUnreachable, naming every endpoint,
    if none answers."""
    endpoints = preference_order(settings)
    answering: list[str] = []
    passed_over: dict[str, str] = {}
    for endpoint in endpoints:
        try:
            check_object_store(settings.with_overrides(s3_endpoint=endpoint), buckets, CONNECT_TIMEOUT_SECONDS)
        except EndpointUnreachable as exc:
            passed_over[endpoint] = str(exc)
            continue
        answering.append(endpoint)
    if not answering:
        raise EndpointUnreachable(
            f"no object store endpoint answers ({len(endpoints)} tried): " + "; ".join(passed_over.values())
        )
    heads = (
        {endpoint: delta_log_heads(settings.with_overrides(s3_endpoint=endpoint), tables) for endpoint in answering}
        if len(answering) > 1
        else {}
    )
    for endpoint in answering:
        behind = lagging_tables(heads, endpoint) if heads else []
        if not behind:
            reasons = tuple(passed_over[e] for e in endpoints[: endpoints.index(endpoint)] if e in passed_over)
            choice = EndpointChoice(endpoint, endpoint == settings.object_store_endpoints[0], reasons)
            log.info("object store: %s", choice.describe())
            return choice
        passed_over[endpoint] = f"{endpoint} has not caught up yet ({', '.join(behind)})"
    raise EndpointsDisagree(
        "the object store endpoints disagree, each lacking commits another has (replication has not "
        "converged; a run now would fork a Delta log): " + "; ".join(passed_over[e] for e in answering)
    )


def preference_order(settings: Settings) -> list[str]:
    """The configured endpoints, primary first, except that this process's own endpoint
    (an earlier choice handed down, e.g. the DAG's XCom) is tried first when it is one of
    them: a retry whose endpoint has gone away moves on to the next."""
    endpoints = settings.object_store_endpoints
    if settings.s3_endpoint in endpoints:
        return [settings.s3_endpoint, *(endpoint for endpoint in endpoints if endpoint != settings.s3_endpoint)]
    return endpoints


def lagging_tables(heads: dict[str, dict[str, int]], endpoint: str) -> list[str]:
    """The tables whose newest commit on `endpoint` is older than on another endpoint,
    as 'table: version here < version there'."""
    mine = heads[endpoint]
    behind = []
    for other, theirs in heads.items():
        for table, version in theirs.items():
            if other != endpoint and version > mine.get(table, -1):
                behind.append(f"{table}: version {mine.get(table, 'none')} < {version} at {other}")
    return sorted(behind)
