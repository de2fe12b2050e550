"""``ccmon demo``, ``ccmon simulate`` and ``ccmon validate``: argparse programs beside the
Faust commands (``ccmon worker``, ``ccmon --help``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def _validate(argv: list[str]) -> int:
    from streams.validate_cli import run_validate

    parser = argparse.ArgumentParser(
        prog="ccmon validate",
        description="Check a JSON-lines file of events against the ccmon event contract.",
    )
    parser.add_argument("file", type=Path, help="JSON-lines file, one event per line")
    parser.add_argument(
        "--channel",
        choices=("call", "chat", "ticket"),
        help="channel of every line (default: from a file name containing calls/chats/tickets)",
    )
    args = parser.parse_args(argv)
    return run_validate(args.file, args.channel, None, sys.stdout)


def _simulate(argv: list[str]) -> int:
    from streams.simulator.cli import add_arguments, run_cli

    parser = argparse.ArgumentParser(
        prog="ccmon simulate",
        description="Simulate a contact centre (Erlang A/B/C queues, tickets) and emit events.",
    )
    add_arguments(parser)
    return asyncio.run(run_cli(parser.parse_args(argv)))


def _demo(argv: list[str]) -> int:
    from streams.demo import build_parser, run_demo

    return run_demo(build_parser().parse_args(argv))


def run_command(name: str, argv: list[str]) -> int:
    return {"validate": _validate, "simulate": _simulate, "demo": _demo}[name](argv)
