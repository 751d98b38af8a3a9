"""How an additive gold model's column takes in the rows of a later run: a row holds what
the runs in its `counted_runs` contributed, and a run's contribution (computed by the
model's own SQL over its rows) is added to it in a MERGE. Pure: SQL expressions as text.

    sum          t + s             counts, sums of numbers
    max / min    greatest / least  (null when both are: Spark's greatest skips nulls)
    uint256_sum  t + s on decimal text of any length, exactly: a sum of uint256 values
                 does not fit DECIMAL(38), so each side is cut into 26-digit limbs (the
                 leading one takes whatever is left), the limbs are added, the carries
                 propagated and the text put back together. Exact up to 89 digits: the
                 sum of 10^11 uint256 values.
"""

from __future__ import annotations

from jobs.sql_literals import name

LIMB_DIGITS = 26  # two limbs and a carry stay below 10^38
LIMB_BASE = "CAST('1" + "0" * LIMB_DIGITS + "' AS DECIMAL(38, 0))"


def _limbs(text: str) -> tuple[str, str, str]:
    """The leading, middle and last limb of non-negative decimal text, as DECIMAL(38, 0)."""
    padded = f"lpad({text}, greatest(length({text}), {3 * LIMB_DIGITS}), '0')"
    high = f"CAST(substr({padded}, 1, length({padded}) - {2 * LIMB_DIGITS}) AS DECIMAL(38, 0))"
    middle = f"CAST(substr({padded}, -{2 * LIMB_DIGITS}, {LIMB_DIGITS}) AS DECIMAL(38, 0))"
    low = f"CAST(substr({padded}, -{LIMB_DIGITS}, {LIMB_DIGITS}) AS DECIMAL(38, 0))"
    return high, middle, low


def uint256_sum(left: str, right: str) -> str:
    """Decimal text `left` + `right`, exactly (no leading zeros; null if either is)."""
    (lh, lm, ll), (rh, rm, rl) = _limbs(left), _limbs(right)
    low = f"({ll} + {rl})"
    middle = f"({lm} + {rm} + ({low} div {LIMB_BASE}))"
    high = f"({lh} + {rh} + ({middle} div {LIMB_BASE}))"
    text = (
        f"concat(CAST({high} AS STRING), lpad(CAST({middle} % {LIMB_BASE} AS STRING), {LIMB_DIGITS}, '0'), "
        f"lpad(CAST({low} % {LIMB_BASE} AS STRING), {LIMB_DIGITS}, '0'))"
    )
    return f"regexp_replace({text}, '^0+(?=.)', '')"


MEASURES = {
    "sum": lambda t, s: f"{t} + {s}",
    "max": lambda t, s: f"greatest({t}, {s})",
    "min": lambda t, s: f"least({t}, {s})",
    "uint256_sum": uint256_sum,
}


def added(column: str, measure: str, target: str = "t", source: str = "s") -> str:
    """The SQL of `column` once the source row's contribution is added to the target's."""
    return MEASURES[measure](f"{target}.{name(column)}", f"{source}.{name(column)}")
