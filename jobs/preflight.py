"""Before touching storage, check the endpoints a job needs: one clear line if not."""

from __future__ import annotations

from jobs.object_store import check_object_store
from jobs.settings import Settings
from jobs.trino_catalog import check_trino


def check_endpoints(settings: Settings, *, buckets: list[str], trino: bool) -> None:
    if not settings.uses_object_store:
        return  # a local-directory warehouse needs no server
    check_object_store(settings, buckets)
    if trino:
        check_trino(settings)
