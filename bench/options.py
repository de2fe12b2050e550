"""What the bench's commands (``python -m bench``, ``memory``, ``soak``) share on their
command line and around it: the options they declare alike, where their results go, and the
progress lines on stderr. Written once, so that ``--queues`` or ``--keep`` mean the same to
every command and a new command starts from them (`duplicates` found them written thrice).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.services import ROOT

RESULTS = ROOT / "bench" / "results"
# Progress lines count from the harness's start: bench.cli imports this module first.
_began = time.monotonic()


def elapsed() -> float:
    return time.monotonic() - _began


def log(message: str) -> None:
    print(f"[{elapsed():7.1f}s] {message}", file=sys.stderr, flush=True)


def add_load(parser: argparse.ArgumentParser) -> None:
    """The data of the memory and soak runs: a large centre's queues, the worker's default
    partitions and a share of exact re-sends. (``python -m bench`` takes lists of partitions
    and a preload of its own: its options are its own.)"""
    add = parser.add_argument
    add("--queues", type=int, default=500, help="queues per channel (default 500)")
    add("--partitions", type=int, default=8, help="CCMON_PARTITIONS (default 8)")
    add("--duplicates", type=float, default=0.05, help="share of exact re-sends (default 0.05)")


def add_output(parser: argparse.ArgumentParser, command: str) -> None:
    """``--out`` (see `result_path`) and ``--keep``."""
    add = parser.add_argument
    add("--out", type=Path, help=f"JSON result (default bench/results/{command}-<time>.json)")
    add("--keep", action="store_true", help="keep the temporary directory (logs, data)")


def stamp() -> str:
    """The run's start in UTC, as the result's ``started`` and its file name carry it."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def result_path(given: Path | None, command: str, started: str, suffix: str = "json") -> Path:
    """The file given (``--out``, ``--plot``), or ``bench/results/<command>-<started>.<suffix>``."""
    return given or RESULTS / f"{command}-{started}.{suffix}"


def arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options as a result keeps them: JSON, paths as strings."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
