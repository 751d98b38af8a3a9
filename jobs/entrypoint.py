"""How every job and command starts and ends: logging, clean errors, exit codes."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from jobs.errors import LakehouseError

EXIT_USER_ERROR = 2


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # great_expectations logs dozens of INFO lines about its own docs decorators on import.
    for noisy in ("py4j", "botocore", "urllib3", "trino", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_main(main: Callable[[list[str]], int | None], argv: list[str] | None = None) -> None:
    """Run a main function; a LakehouseError becomes one line on stderr and exit 2."""
    configure_logging()
    try:
        code = main(sys.argv[1:] if argv is None else argv)
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    sys.exit(code or 0)
