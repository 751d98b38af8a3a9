"""What a contract's `generate:` formulas may use: the functions they call (`Draws`, drawing
from the stream of the field being made) and the check that they hold nothing else.

A formula is a Python expression, compiled once: arithmetic, comparisons, `x if c else y`,
literals, subscripts, the functions below, the text methods in TEXT_METHODS, and the names
of the fields and helpers before it. Anything else is refused when the contract loads: a
contract's formula is data, not a way to run code."""

from __future__ import annotations

import ast
import csv
import hashlib
import random
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any


class GenerateError(ValueError):
    pass


@cache
def seed_rows(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(newline="") as handle:
        return tuple(csv.DictReader(handle))


class Draws:
    """What a formula may call. Random draws come from `rng`, which the generator points
    at the stream of the field being made."""

    def __init__(self, seed: int, seeds_dir: Path):
        self.seed, self.seeds_dir = seed, seeds_dir
        self.rng = random.Random(seed)
        self.lookups: dict[tuple[str, str, str], dict[str, str]] = {}

    def functions(self) -> dict[str, Any]:
        return {
            "random": self.random,
            "uniform": self.uniform,
            "randint": self.randint,
            "lognormvariate": self.lognormvariate,
            "bits": self.bits,
            "hex": self.hex,
            "digest": self.digest,
            "lookup": self.lookup,
            "seconds": lambda n: timedelta(seconds=int(n)),
            "minutes": lambda n: timedelta(seconds=int(n * 60)),
            "epoch": lambda moment: int(moment.timestamp()),
            "snap": lambda moment, step: moment - timedelta(seconds=int(moment.timestamp()) % step),
            **{f.__name__: f for f in (round, int, float, str, min, max, abs)},
        }

    def random(self) -> float:
        return self.rng.random()

    def uniform(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def randint(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def lognormvariate(self, mu: float, sigma: float) -> float:
        return self.rng.lognormvariate(mu, sigma)

    def bits(self, low: int, high: int) -> int:
        """A number of `low` to `high` bits, the top one set (a uint256 spread over its range)."""
        size = self.rng.randint(low, high)
        return self.rng.getrandbits(size) | (1 << (size - 1))

    def hex(self, bits: int) -> str:
        """Random 0x-prefixed hex of `bits` bits (a hash, an address)."""
        return f"0x{self.rng.getrandbits(bits):0{bits // 4}x}"

    def digest(self, chars: int, *parts: Any) -> str:
        """0x-prefixed hex that is a function of the seed and `parts` (a block's hash)."""
        text = ":".join(str(p) for p in (self.seed, *parts))
        return "0x" + hashlib.sha256(text.encode()).hexdigest()[:chars]

    def lookup(self, table: str, key_column: str, key: Any, column: str) -> str | None:
        """`column` of the row of seed `table` whose `key_column` is `key`."""
        index = self.lookups.get((table, key_column, column))
        if index is None:
            rows = seed_rows(self.seeds_dir / f"{table}.csv")
            index = self.lookups[(table, key_column, column)] = {row[key_column]: row[column] for row in rows}
        return index.get(str(key))


# What a formula may hold: arithmetic, comparisons, conditionals, literals, subscripts,
# calls of FORMULA_FUNCTIONS and of the text methods below, and names of earlier fields.
FORMULA_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
    ast.Load, ast.Constant, ast.Tuple, ast.List, ast.Subscript, ast.Slice, ast.Attribute,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)  # fmt: skip
TEXT_METHODS = {"lower", "upper", "title", "zfill"}


def compile_formula(expression: str, functions: set[str], where: str) -> Any:
    """A formula compiled once, after checking it holds nothing but FORMULA_NODES: a
    contract's formula is data, not a way to run code."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise GenerateError(f"{where}: {expression!r} is not an expression: {error.msg}") from error
    for node in ast.walk(tree):
        if not isinstance(node, FORMULA_NODES):
            raise GenerateError(f"{where}: {expression!r}: a formula may not hold {type(node).__name__}")
        if isinstance(node, ast.Attribute) and node.attr not in TEXT_METHODS:
            raise GenerateError(f"{where}: {expression!r}: only the text methods {sorted(TEXT_METHODS)} may be called")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in functions:
            raise GenerateError(f"{where}: {expression!r}: unknown function {node.func.id!r}")
        if isinstance(node, ast.Call) and not isinstance(node.func, (ast.Name, ast.Attribute)):
            raise GenerateError(f"{where}: {expression!r}: only functions by name may be called")
    return compile(tree, where, "eval")
