"""`ccmon validate FILE`: check a JSON-lines file of events against the contract offline.

Integrators run it on a sample of their producer's output before connecting to Kafka. It
calls exactly the validation of the live pipeline (`streams.contract.events.validate`), so a clean
report means no record of that sample would reach the dead-letter topic.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ccmon.streams.contract.events import ALL_CHANNELS, Event, validate

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
PROGRESS_EVERY = 100_000
_FIRST_LINES = 3
# The file name decides the channel the way the topic name does (contact-center.calls -> call).
_CHANNEL_WORDS = {"calls": "call", "chats": "chat", "tickets": "ticket", "agents": "agent"}
_CHANNEL_WORD = re.compile("|".join(_CHANNEL_WORDS))


def channel_from_name(path: Path) -> str | None:
    """The channel a file name mentions (calls, chats or tickets), if it mentions exactly one."""
    found = {_CHANNEL_WORDS[word] for word in _CHANNEL_WORD.findall(path.name.lower())}
    return found.pop() if len(found) == 1 else None


@dataclass
class Summary:
    lines: int = 0
    blank: int = 0
    valid_by_type: Counter[str] = field(default_factory=Counter)
    invalid_by_reason: Counter[str] = field(default_factory=Counter)
    first_lines: dict[str, list[int]] = field(default_factory=dict)
    first_detail: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> int:
        return self.valid_by_type.total()

    @property
    def invalid(self) -> int:
        return self.invalid_by_reason.total()


def run_validate(
    path: Path, channel: str | None, now: float | None, out: TextIO, *, err: TextIO | None = None
) -> int:
    """Validate every line of `path` as one event and print a per-reason summary to `out`.

    `channel` None means "from the file name". `now` (epoch seconds, default the current
    time) anchors the future-timestamp check. Returns 0 if every event is valid, 1 if any is
    invalid, 2 for a usage error; usage errors and progress (every 100 000 lines) go to
    `err`, default stderr.
    """
    err = sys.stderr if err is None else err
    if channel is None:
        channel = channel_from_name(path)
        if channel is None:
            err.write(
                f"ccmon validate: cannot tell the channel of {path.name!r}: pass --channel "
                f"{'|'.join(ALL_CHANNELS)}, or put calls, chats, tickets or agents in the "
                "file name\n"
            )
            return EXIT_USAGE
    elif channel not in ALL_CHANNELS:
        err.write(f"ccmon validate: unknown channel {channel!r}; use {'|'.join(ALL_CHANNELS)}\n")
        return EXIT_USAGE
    try:
        summary = _scan(path, channel, time.time() if now is None else now, err)
    except OSError as exc:
        err.write(f"ccmon validate: cannot read {path}: {exc.strerror or exc}\n")
        return EXIT_USAGE
    _report(summary, path, channel, out)
    return EXIT_INVALID if summary.invalid else EXIT_OK


def _scan(path: Path, channel: str, now: float, err: TextIO) -> Summary:
    summary = Summary()
    with path.open("rb") as lines:  # bytes, as Kafka delivers them: no decoding here
        for number, line in enumerate(lines, start=1):
            if number % PROGRESS_EVERY == 0:
                err.write(f"ccmon validate: {number} lines read\n")
                err.flush()
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                summary.blank += 1
                continue
            summary.lines += 1
            result = validate(raw, channel, now)
            if isinstance(result, Event):
                summary.valid_by_type[result.type] += 1
                continue
            summary.invalid_by_reason[result.reason] += 1
            first = summary.first_lines.setdefault(result.reason, [])
            if len(first) < _FIRST_LINES:
                first.append(number)
            summary.first_detail.setdefault(result.reason, result.detail)
    return summary


def _report(summary: Summary, path: Path, channel: str, out: TextIO) -> None:
    out.write(f"{path}: channel {channel}\n")
    if summary.invalid_by_reason:
        width = max(len("reason"), *map(len, summary.invalid_by_reason))
        out.write(f"\n{'reason':<{width}}  {'count':>9}  first lines\n")
        for reason, count in sorted(summary.invalid_by_reason.items(), key=lambda rc: -rc[1]):
            lines = ", ".join(map(str, summary.first_lines[reason]))
            out.write(f"{reason:<{width}}  {count:>9}  {lines}\n")
            out.write(f"{'':<{width}}  {'':>9}  e.g. {summary.first_detail[reason]}\n")
    if summary.valid_by_type:
        types = ", ".join(f"{t} {n}" for t, n in sorted(summary.valid_by_type.items()))
        out.write(f"\nvalid by type: {types}\n")
    out.write(
        f"\ntotal: {summary.lines} events, {summary.valid} valid, {summary.invalid} invalid"
        f" ({summary.blank} blank lines skipped)\n"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `ccmon validate`, for the CLI that mounts this command."""
    parser.add_argument("file", type=Path, help="JSON-lines file, one event per line")
    parser.add_argument(
        "--channel",
        choices=ALL_CHANNELS,
        help="channel of every line (default: from the file name: calls, chats, tickets, agents)",
    )
    parser.add_argument(
        "--now",
        type=float,
        help="epoch seconds to check future timestamps against (default: the current time)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ccmon validate",
        description="Check a JSON-lines file of events against the ccmon event contract.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_validate(args.file, args.channel, args.now, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
