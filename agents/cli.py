"""The ``ccmon`` command line (also ``python -m ccmon``).

``ccmon worker`` and Faust's other commands are the Faust app's own ``main()``. Our
commands — ``demo``, ``simulate``, ``validate``, ``wall`` — sit beside it: argparse programs that
need no Kafka connection to print their help, so they are dispatched before the app is built.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

OWN_COMMANDS = ("demo", "simulate", "validate", "wall")


def _validate(argv: list[str]) -> int:
    from ccmon.agents.validate import run_validate

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
    from ccmon.agents.devkit.simulator.cli import add_arguments, run_cli

    parser = argparse.ArgumentParser(
        prog="ccmon simulate",
        description="Simulate a contact centre (Erlang A/B/C queues, tickets) and emit events.",
    )
    add_arguments(parser)
    return asyncio.run(run_cli(parser.parse_args(argv)))


def _demo(argv: list[str]) -> int:
    from ccmon.agents.devkit.demo import build_parser, run_demo

    return run_demo(build_parser().parse_args(argv))


def _wall(argv: list[str]) -> int:
    from ccmon.agents.wall.command import build_parser, run_wall

    return run_wall(build_parser().parse_args(argv))


def run_command(name: str, argv: list[str]) -> int:
    commands = {"validate": _validate, "simulate": _simulate, "demo": _demo, "wall": _wall}
    return commands[name](argv)


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in OWN_COMMANDS:
        raise SystemExit(run_command(argv[0], argv[1:]))
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "ccmon's own commands: demo, simulate, validate, wall (ccmon COMMAND --help).\n"
            "Faust's commands follow; `ccmon worker -l info` runs a worker.\n"
        )
    from ccmon.agents.app import build_app
    from ccmon.streams.settings import Settings

    settings = Settings()
    if argv and argv[0] == "worker" and not {"-h", "--help"} & set(argv):
        from ccmon.streams.preflight import PreflightError, run_preflight

        try:
            run_preflight(settings)
        except PreflightError as exc:
            raise SystemExit(f"ccmon worker: {exc}") from exc
        from ccmon.agents import gctuning

        gctuning.tune()
    build_app(settings).main()
