"""``ccmon report --from 2026-11-01 --to 2026-11-30 [--queue Q] --format csv|json|html``.

Reads the closed day records of the range from the records topic (the latest revision of
each day; CCMON_KAFKA and its security settings, CCMON_TOPIC_RECORDS or
``<CCMON_APP_ID>-records``), and prints per queue and day whether each promise was kept,
the monthly totals and the days met out of the days open. Progress on stderr. A range of
more than ``--max-days`` (366) is refused: split it; the read is streamed either way, and
only the range's day records are kept in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from ccmon.agents.report.reader import Want, read_latest
from ccmon.agents.report.render import csv_text, html_text, json_text
from ccmon.agents.report.summary import summarise
from ccmon.streams.kafka.connection import KafkaSettingsError, client_options
from ccmon.streams.settings import Settings

MAX_DAYS = 366
EXIT_OK, EXIT_EMPTY, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccmon report",
        description="Compliance report from the closed day records: per queue and day, "
        "whether each promise was kept; monthly totals; days met out of days open.",
    )
    p.add_argument("--from", dest="first", required=True, metavar="DAY", help="YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, metavar="DAY", help="YYYY-MM-DD (kept)")
    p.add_argument("--queue", action="append", default=[], help="a queue (repeatable)")
    p.add_argument("--format", choices=("csv", "json", "html"), default="csv")
    p.add_argument("--output", type=Path, help="write here instead of stdout")
    p.add_argument("--max-days", type=int, default=MAX_DAYS, help=argparse.SUPPRESS)
    return p


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None


def run_report(
    args: argparse.Namespace,
    settings: Callable[[], Settings | int],
    out: TextIO,
    err: TextIO,
) -> int:
    """``settings``: the checked CCMON_* settings, or the exit status after saying what is
    wrong with them (asked once the arguments are known good)."""

    try:
        first, last = _day(args.first), _day(args.last)
    except ValueError as exc:
        print(f"ccmon report: {exc}", file=err)
        return EXIT_USAGE
    if last < first:
        print(f"ccmon report: --to {last} is before --from {first}", file=err)
        return EXIT_USAGE
    days = (last - first).days + 1
    if days > args.max_days:
        print(
            f"ccmon report: {days} days asked; a report covers at most {args.max_days} days "
            "(a year): split the range (one report per year or month)",
            file=err,
        )
        return EXIT_USAGE
    checked = settings()
    if isinstance(checked, int):
        return checked
    try:
        options = client_options(checked)
    except KafkaSettingsError as exc:
        print(f"ccmon report: {exc}", file=err)
        return EXIT_USAGE

    def progress(read: int, total: int) -> None:
        share = f" ({100 * read // total} %)" if total else ""
        print(f"ccmon report: {read:,} of {total:,} records read{share}", file=err)

    want = Want(first.isoformat(), last.isoformat(), frozenset({"day"}), frozenset(args.queue))
    topic = checked.records_topic
    try:
        latest = asyncio.run(read_latest(options, topic, want, progress))
    except LookupError as exc:
        print(f"ccmon report: {exc}", file=err)
        return EXIT_EMPTY
    reports = summarise(latest)
    if not reports:
        queues = f" for {', '.join(args.queue)}" if args.queue else ""
        print(
            f"ccmon report: no closed day record from {first} to {last}{queues} in {topic} "
            f"({latest.read:,} records read): nothing to report",
            file=err,
        )
        return EXIT_EMPTY
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    if args.format == "csv":
        text = csv_text(reports)
    elif args.format == "json":
        text = json_text(reports, first.isoformat(), last.isoformat())
    else:
        text = html_text(reports, first.isoformat(), last.isoformat(), generated)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"ccmon report: wrote {args.output} ({len(reports)} queues)", file=err)
    else:
        out.write(text)
    return EXIT_OK


def main(argv: list[str], settings: Callable[[], Settings | int]) -> int:
    return run_report(build_parser().parse_args(argv), settings, sys.stdout, sys.stderr)
