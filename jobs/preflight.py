"""Before touching storage, check the endpoints a job needs: one clear line if not."""

from __future__ import annotations

from jobs.curation.tables import path_of
from jobs.definitions import Definitions
from jobs.endpoint_watch import EndpointChoice, choose_object_store
from jobs.object_store import check_object_store
from jobs.settings import Settings
from jobs.trino_catalog import check_trino


def check_endpoints(settings: Settings, *, buckets: list[str], trino: bool) -> None:
    if not settings.uses_object_store:
        return  # a local-directory warehouse needs no server
    check_object_store(settings, buckets)
    if trino:
        check_trino(settings)


def watch_endpoints(
    settings: Settings, definitions: Definitions, *, buckets: list[str], trino: bool
) -> tuple[Settings, EndpointChoice | None]:
    """The endpoint watch before a run: the settings with the object store endpoint the
    run is to use (jobs/endpoint_watch.py), and that choice; then Trino, if needed."""
    if not settings.uses_object_store:
        return settings, None
    tables = {table: path_of(settings, table) for table in definitions.published_tables}
    choice = choose_object_store(settings, buckets, tables)
    chosen = settings.with_overrides(s3_endpoint=choice.endpoint)
    if trino:
        check_trino(chosen)
    return chosen, choice
