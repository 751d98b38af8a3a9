"""How every job and command starts and ends: logging, clean errors, exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from jobs.errors import LakehouseError

EXIT_FAILURE = 1
EXIT_USER_ERROR = 2


def configure_logging() -> None:
    # The one environment variable read outside settings.py: logging starts before settings load.
    logging.basicConfig(
        level=os.environ.get("LAKEHOUSE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # great_expectations logs dozens of INFO lines about its own docs decorators on import.
    for noisy in ("py4j", "botocore", "urllib3", "trino", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def root_cause(exc: BaseException) -> str:
    """The innermost cause of a failure, in one line: for an error raised in Spark's JVM
    (a Py4JJavaError), the Java exception at the bottom of its cause chain, which names
    what really happened (a connection reset, a refused endpoint) rather than the stage."""
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            while java.getCause() is not None and java.getCause() is not java:
                java = java.getCause()
            text = f"{java.getClass().getName()}: {java.getMessage()}"
        except Exception:  # the JVM is gone: fall back to the Python side
            text = f"{exc.__class__.__name__}: {exc}"
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    return " ".join(text.split())[:500]


def run_main(main: Callable[[list[str]], int | None], argv: list[str] | None = None) -> None:
    """Run a main function. A LakehouseError becomes one line on stderr and exit 2; any
    other failure (the engine, the network) one line naming its root cause and exit 1,
    with the traceback in the log only at LAKEHOUSE_LOG_LEVEL=DEBUG."""
    configure_logging()
    try:
        code = main(sys.argv[1:] if argv is None else argv)
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except Exception as exc:
        logging.getLogger("lakehouse").debug("the failure's traceback", exc_info=True)
        print(f"error: {root_cause(exc)}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    sys.exit(code or 0)
