"""Exit 0 if the raw events of a day (with their ground truth) are already there: `make demo`
then skips generating them again."""

import sys

from jobs.object_store import s3_client
from jobs.settings import Settings


def main(day: str) -> int:
    settings = Settings.load()
    bucket, prefix = settings.raw_bucket_and_prefix
    listing = s3_client(settings).list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}_truth/event_date={day}/manifest.json", MaxKeys=1)
    return 0 if listing.get("KeyCount", 0) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
