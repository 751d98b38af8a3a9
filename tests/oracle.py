"""An independent oracle for the daily aggregates: plain Python over the raw files.

It shares no code with the pipeline: it takes the generator's list of bad lines as
given (the ground truth), deduplicates by business key, and sums with exact integers
and decimals. Gold must equal it exactly.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

ZONES = Path(__file__).resolve().parent.parent / "models" / "seeds" / "taxi_zone_lookup.csv"


class TaxiDay(TypedDict):
    trips: int
    revenue: Decimal
    tips: Decimal
    distance_miles: Decimal
    card_trips: int


class TokenDay(TypedDict):
    transfers: int
    senders: set[str]
    receivers: set[str]
    volume: int


def zone_boroughs() -> dict[int, str]:
    with ZONES.open(newline="") as handle:
        return {int(row["LocationID"]): row["Borough"] for row in csv.DictReader(handle)}


def valid_events(files: dict[str, bytes], bad_lines: set[tuple[str, int]]):
    for name in sorted(files):
        if (name, 0) in bad_lines:
            continue  # a corrupt file
        for number, line in enumerate(zlib.decompress(files[name], wbits=31).splitlines(), start=1):
            if (name, number) not in bad_lines:
                yield json.loads(line)


def daily_aggregates(files: dict[str, bytes], bad_lines: set[tuple[str, int]]) -> tuple[dict, dict]:
    boroughs = zone_boroughs()
    trips: dict[tuple, dict[str, Any]] = {}
    transfers: dict[tuple, dict[str, Any]] = {}
    for event in valid_events(files, bad_lines):
        p = event["payload"]
        if event["event_type"] == "YellowTaxiTripRecords":
            key = (
                p["VendorID"],
                p["tpep_pickup_datetime"],
                p["tpep_dropoff_datetime"],
                p["PULocationID"],
                p["DOLocationID"],
                Decimal(str(p["total_amount"])),
            )
            trips.setdefault(key, p)
        elif event["event_type"] == "EthereumTokenTransfer":
            transfers.setdefault((p["transaction_hash"], p["log_index"]), p)

    taxi: defaultdict[tuple[str, str], TaxiDay] = defaultdict(
        lambda: {"trips": 0, "revenue": Decimal(0), "tips": Decimal(0), "distance_miles": Decimal(0), "card_trips": 0}
    )
    for p in trips.values():
        row = taxi[(p["tpep_pickup_datetime"][:10], boroughs.get(p["PULocationID"], "Unknown"))]
        row["trips"] += 1
        row["revenue"] += Decimal(str(p["total_amount"]))
        row["tips"] += Decimal(str(p["tip_amount"]))
        row["distance_miles"] += Decimal(str(p["trip_distance"])).quantize(Decimal("0.01"))
        row["card_trips"] += p["payment_type"] == 1

    tokens: defaultdict[tuple[str, str], TokenDay] = defaultdict(
        lambda: {"transfers": 0, "senders": set(), "receivers": set(), "volume": 0}
    )
    for p in transfers.values():
        token_day = tokens[(p["block_timestamp"][:10], p["token_address"])]
        token_day["transfers"] += 1
        token_day["senders"].add(p["from_address"])
        token_day["receivers"].add(p["to_address"])
        token_day["volume"] += int(p["value"])
    token_rows = {
        key: {
            "transfers": r["transfers"],
            "distinct_senders": len(r["senders"]),
            "distinct_receivers": len(r["receivers"]),
            "volume_raw": str(r["volume"]),
        }
        for key, r in tokens.items()
    }
    return dict(taxi), token_rows
