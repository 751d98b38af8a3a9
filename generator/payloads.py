"""Realistic payloads: NYC yellow taxi trips, Ethereum token transfers and tokens.

Pure functions of a random.Random and a time; nothing here writes anything.
"""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jobs.settings import PROJECT_ROOT

ZONES_FILE = PROJECT_ROOT / "models" / "seeds" / "taxi_zone_lookup.csv"
NEW_YORK = ZoneInfo("America/New_York")
TAXI_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHAIN_TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

# Ethereum: ~12 s blocks; a reference block for block numbers.
REFERENCE_BLOCK = 18_000_000
REFERENCE_BLOCK_TIME = datetime(2023, 8, 26, 13, 20, 11, tzinfo=UTC)
TOKEN_POOL_SIZE = 2_000
WALLET_POOL_SIZE = 300_000


@lru_cache(maxsize=1)
def taxi_zones(path: Path = ZONES_FILE) -> tuple[tuple[int, str], ...]:
    """(LocationID, Borough) of the real TLC zones, excluding the two 'Unknown' ones."""
    with path.open(newline="") as handle:
        return tuple(
            (int(row["LocationID"]), row["Borough"])
            for row in csv.DictReader(handle)
            if row["Borough"] not in ("Unknown", "N/A")
        )


AIRPORT_ZONES = {1, 132, 138}  # Newark, JFK, LaGuardia


def cents(amount_cents: int) -> float:
    """Cents to the float a TLC file carries (shortest repr: 12.35, never 12.350000001)."""
    return amount_cents / 100


def wall_clock_span(dropoff_utc: datetime, minutes: float) -> tuple[datetime, datetime, float]:
    """Pickup and dropoff of a trip of `minutes` ending at `dropoff_utc`, in New York wall-clock time
    as the TLC records them (no offset), and the minutes kept.

    The duration is subtracted from the instant: wall-clock arithmetic would put some pickups of a
    spring-forward day in the hour that does not exist (02:xx). A trip across a fall-back day's
    repeated hour would read as ending before it starts, so it is shortened until it does not.
    """
    while True:
        pickup_utc = dropoff_utc - timedelta(seconds=int(minutes * 60))
        pickup, dropoff = (moment.astimezone(NEW_YORK).replace(tzinfo=None) for moment in (pickup_utc, dropoff_utc))
        if pickup <= dropoff:
            return pickup, dropoff, minutes
        minutes /= 2


def taxi_trip(rng: random.Random, dropoff_utc: datetime, with_airport_fee: bool) -> dict:
    zones = taxi_zones()
    (pu, pu_borough), (do, _) = rng.choice(zones), rng.choice(zones)
    pickup, dropoff, minutes = wall_clock_span(dropoff_utc, max(2.0, rng.lognormvariate(2.6, 0.55)))  # median ~13 min
    mph = rng.uniform(6, 28) if pu_borough != "Manhattan" else rng.uniform(5, 14)
    distance = round(mph * minutes / 60, 2)

    fare = 300 + int(distance * 280) + int(minutes * 35)  # metered: flag drop, per mile, per minute
    extra = rng.choice((0, 0, 100, 250))
    mta_tax = 50
    payment_type = rng.choices((1, 2, 3, 4), weights=(75, 22, 2, 1))[0]
    tip = int(fare * rng.uniform(0.1, 0.3)) if payment_type == 1 and rng.random() < 0.9 else 0
    tolls = 694 if rng.random() < 0.05 else 0
    improvement = 100
    congestion = 250 if pu_borough == "Manhattan" else 0
    airport = 175 if with_airport_fee and pu in AIRPORT_ZONES else 0
    total = fare + extra + mta_tax + tip + tolls + improvement + congestion + airport

    trip = {
        "VendorID": rng.choice((1, 2, 2, 2, 6, 7)),
        "tpep_pickup_datetime": pickup.strftime(TAXI_TIME_FORMAT),
        "tpep_dropoff_datetime": dropoff.strftime(TAXI_TIME_FORMAT),
        "passenger_count": rng.choices((1, 2, 3, 4, 5, 6, None), weights=(70, 14, 4, 2, 3, 2, 5))[0],
        "trip_distance": distance,
        "RatecodeID": 2 if pu == 132 and rng.random() < 0.5 else 1,
        "store_and_fwd_flag": "Y" if rng.random() < 0.01 else "N",
        "PULocationID": pu,
        "DOLocationID": do,
        "payment_type": payment_type,
        "fare_amount": cents(fare),
        "extra": cents(extra),
        "mta_tax": cents(mta_tax),
        "tip_amount": cents(tip),
        "tolls_amount": cents(tolls),
        "improvement_surcharge": cents(improvement),
        "total_amount": cents(total),
        "congestion_surcharge": cents(congestion),
    }
    if with_airport_fee:
        trip["Airport_fee"] = cents(airport)
    return trip


def taxi_business_key(trip: dict) -> str:
    """The contract's business key, rendered as text (see the taxi contract)."""
    return (
        "|".join(
            str(trip[name])
            for name in ("VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID", "DOLocationID")
        )
        + f"|{trip['total_amount']:.2f}"
    )


def taxi_business_date(trip: dict) -> str:
    return trip["tpep_pickup_datetime"][:10]


# -- Ethereum ---------------------------------------------------------------------------


def _hex(seed: str, length: int) -> str:
    return "0x" + hashlib.sha256(seed.encode()).hexdigest()[:length]


def token_address(seed: int, index: int) -> str:
    return _hex(f"{seed}:token:{index}", 40)


def wallet_address(seed: int, index: int) -> str:
    return _hex(f"{seed}:wallet:{index}", 40)


def block_number_at(moment: datetime) -> int:
    return REFERENCE_BLOCK + int((moment - REFERENCE_BLOCK_TIME).total_seconds() // 12)


def block_time(number: int) -> datetime:
    return REFERENCE_BLOCK_TIME + timedelta(seconds=12 * (number - REFERENCE_BLOCK))


def block_hash(seed: int, number: int) -> str:
    return _hex(f"{seed}:block:{number}", 64)


def skewed_index(rng: random.Random, size: int, skew: float = 3.0) -> int:
    """A few items are very popular, most are rare (as tokens and wallets are)."""
    return int(size * rng.random() ** skew)


def transfer_value(rng: random.Random) -> str:
    """A uint256 as decimal text: from 1 to above 2**200 (1% of values)."""
    if rng.random() < 0.01:
        return str(rng.getrandbits(rng.randint(201, 255)) | (1 << 200))
    digits = rng.randint(0, 30)
    return str(rng.randint(1, 999_999) * 10**digits)


@dataclass(frozen=True)
class Transaction:
    hash: str
    block_number: int
    first_log_index: int
    transfers: int


def new_transaction(rng: random.Random, seed: int, moment: datetime) -> Transaction:
    return Transaction(
        hash=f"0x{rng.getrandbits(256):064x}",
        block_number=block_number_at(moment),
        first_log_index=rng.randint(0, 300),
        transfers=rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0],
    )


def token_transfer(rng: random.Random, seed: int, tx: Transaction, position: int) -> dict:
    return {
        "token_address": token_address(seed, skewed_index(rng, TOKEN_POOL_SIZE)),
        "from_address": wallet_address(seed, skewed_index(rng, WALLET_POOL_SIZE)),
        "to_address": wallet_address(seed, skewed_index(rng, WALLET_POOL_SIZE)),
        "value": transfer_value(rng),
        "transaction_hash": tx.hash,
        "log_index": tx.first_log_index + position,
        "block_timestamp": block_time(tx.block_number).strftime(CHAIN_TIME_FORMAT),
        "block_number": tx.block_number,
        "block_hash": block_hash(seed, tx.block_number),
    }


def transfer_business_key(transfer: dict) -> str:
    return f"{transfer['transaction_hash']}|{transfer['log_index']}"


def chain_business_date(payload: dict) -> str:
    return payload["block_timestamp"][:10]


_SYMBOL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def token_state(seed: int, index: int, moment: datetime) -> dict:
    """The state of token `index` at the block of `moment`: a pure function of both,
    so two events for the same (address, block) always agree."""
    static = random.Random(f"{seed}:token-static:{index}")
    symbol = "".join(static.choice(_SYMBOL_LETTERS) for _ in range(static.randint(3, 5)))
    decimals = static.choices((18, 6, 8, 0, 9, 12), weights=(70, 12, 8, 4, 3, 3))[0]
    number = block_number_at(moment)
    supply = random.Random(f"{seed}:token-supply:{index}:{number}").getrandbits(static.randint(40, 230))
    return {
        "address": token_address(seed, index),
        "symbol": symbol,
        "name": f"{symbol.title()} Token",
        "decimals": decimals,
        "total_supply": str(supply),
        "block_timestamp": block_time(number).strftime(CHAIN_TIME_FORMAT),
        "block_number": number,
        "block_hash": block_hash(seed, number),
    }
