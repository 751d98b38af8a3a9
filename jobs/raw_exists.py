"""Exit 0 if the raw events of a day (with their ground truth) are already there: `make demo`
then skips generating them again."""

import sys
from datetime import date

from jobs.object_store import s3_client
from jobs.settings import Settings


def raw_day_exists(settings: Settings, day: date | str) -> bool:
    """The generator writes a day's manifest last: its presence means the day is complete."""
    bucket, prefix = settings.raw_bucket_and_prefix
    listing = s3_client(settings).list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}_truth/event_date={day}/manifest.json", MaxKeys=1
    )
    return bool(listing.get("KeyCount", 0))


def main(day: str) -> int:
    return 0 if raw_day_exists(Settings.load(), day) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
