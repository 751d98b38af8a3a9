"""When a landing day is complete: the upstream loader's signal.

The batch loader writes every file of a landing day into `event_date=D/` and then, last,
an empty-ish marker object `event_date=D/_SUCCESS` (Hadoop's convention). A window's
input is complete when each of its days has its marker. Airflow's `wait_for_input`
sensor asks this module (through `lakehouse input-ready`); the curation job itself reads
whatever has landed, so a late file after the marker is still picked up by the grace
days of a later window.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from botocore.exceptions import ClientError

from jobs.object_store import describe_client_error, s3_client
from jobs.settings import Settings

COMPLETE_MARKER = "_SUCCESS"


def marker_key(day: date) -> str:
    """The marker's key relative to the raw location."""
    return f"event_date={day.isoformat()}/{COMPLETE_MARKER}"


def days_not_landed(settings: Settings, days: list[date]) -> list[date]:
    """The days among `days` whose marker is not there yet."""
    if not settings.raw_location.startswith("s3a://"):
        root = Path(settings.raw_location.removeprefix("file://"))
        return [day for day in days if not (root / marker_key(day)).is_file()]
    bucket, prefix = settings.raw_bucket_and_prefix
    client = s3_client(settings)
    missing = []
    for day in days:
        try:
            client.head_object(Bucket=bucket, Key=prefix + marker_key(day))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
                raise describe_client_error(exc, settings, f"s3://{bucket}/{prefix}{marker_key(day)}") from None
            missing.append(day)
    return missing
