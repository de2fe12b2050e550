"""The ``ccmon`` command line (also ``python -m ccmon``).

ccmon's commands are the entries of :data:`COMMANDS`, in the order ``ccmon --help`` lists
them, each with its one line of help: adding a command is adding an entry. ``worker`` runs
Faust's worker on the app of :func:`ccmon.agents.worker.app.build_app`, after the settings and the
queue configuration are checked (before anything connects: a typo is reported as a typo, not
as an unreachable broker). Faust's maintenance commands (``agents``, ``tables``, ``send``,
...) stay reachable as they were, listed after ours.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from ccmon import __version__

if TYPE_CHECKING:
    from ccmon.streams.settings import Settings


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Callable[[list[str]], int]


def _fail(command: str, lines: Sequence[str]) -> int:
    """Problems a user fixes (configuration, settings): one line each, no traceback."""
    from ccmon.streams.logs import refusal

    for line in refusal(command, list(lines)):
        print(line, file=sys.stderr)
    return 1


# Faust's -l/--loglevel names and the logging levels they stand for.
_FAUST_LEVELS = {"crit": "CRITICAL", "error": "ERROR", "warn": "WARNING", "info": "INFO",
                 "debug": "DEBUG"}  # fmt: skip


def _faust_level(argv: list[str]) -> str:
    """The level ``-l`` asks Faust for (its default: warn), for the lines before Faust's."""
    for i, arg in enumerate(argv):
        if arg in ("-l", "--loglevel") and i + 1 < len(argv):
            return _FAUST_LEVELS.get(argv[i + 1].lower(), "WARNING")
        if arg.startswith("--loglevel="):
            return _FAUST_LEVELS.get(arg.partition("=")[2].lower(), "WARNING")
    return "WARNING"


def checked_settings(command: str) -> Settings | int:
    """The ``CCMON_*`` settings, or the exit status after saying which variable is wrong."""
    from pydantic import ValidationError

    from ccmon.streams.configfile import settings_problems
    from ccmon.streams.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        return _fail(command, [p.line() for p in settings_problems(exc, "CCMON_")])


def _faust(argv: list[str]) -> int:
    """``ccmon worker`` and Faust's other commands: the Faust app's own command line."""
    name = "worker" if "worker" in argv else "faust"
    settings = checked_settings(name)
    if isinstance(settings, int):
        return settings
    if settings.log_format == "json":
        from ccmon.streams import logs

        logs.configure("json", _faust_level(argv))  # until Faust sets its logging up
        sys.argv.insert(1, "--quiet")  # Faust's banner is a table for a terminal, not JSON
    if name == "worker" and "--help" not in argv:  # -h is Faust's --web-host
        from ccmon.streams.config import QueueConfigError, load_queue_config

        try:
            load_queue_config(settings.queue_config)
        except QueueConfigError as exc:
            return _fail("worker", exc.lines)
        from ccmon.streams.kafka.preflight import PreflightError, run_preflight

        try:
            run_preflight(settings)
        except PreflightError as exc:
            return _fail("worker", [str(exc)])
        from ccmon.streams.store.connect import check_redis

        if (problem := check_redis(settings.redis)) is not None:
            return _fail("worker", [problem])
        from ccmon.agents.worker import gctuning

        gctuning.tune()
    from ccmon.agents.worker.app import build_app

    build_app(settings).main()  # Faust's click group reads sys.argv and exits
    return 0  # pragma: no cover


def _demo(argv: list[str]) -> int:
    from ccmon.agents.devkit.demo import build_parser, run_demo

    return run_demo(build_parser().parse_args(argv))


def _simulate(argv: list[str]) -> int:
    from ccmon.agents.devkit.simulator.cli import add_arguments, run_cli

    parser = argparse.ArgumentParser(
        prog="ccmon simulate",
        description="Simulate a contact centre (Erlang A/B/C queues, tickets) and emit events.",
    )
    add_arguments(parser)
    return asyncio.run(run_cli(parser.parse_args(argv)))


def _validate(argv: list[str]) -> int:
    from ccmon.agents.validate import main

    return main(argv)


def _wall(argv: list[str]) -> int:
    from ccmon.agents.wall.command import build_parser, run_wall

    return run_wall(build_parser().parse_args(argv))


def _check_config(argv: list[str]) -> int:
    from ccmon.agents import checkconfig

    return checkconfig.main(argv, sys.stdout, sys.stderr)


def _report(argv: list[str]) -> int:
    from ccmon.agents.report.command import main

    return main(argv, lambda: checked_settings("report"))


COMMANDS: tuple[Command, ...] = (
    Command("worker", "count events from Kafka into Redis; serve /metrics and /healthz", _faust),
    Command("demo", "the whole product on one machine: broker, Redis, simulator, wall", _demo),
    Command(
        "simulate", "simulate a contact centre and emit its events to Kafka or files", _simulate
    ),
    Command(
        "validate", "check a JSON-lines file of events against the contract, offline", _validate
    ),
    Command("wall", "serve the live wall page from the workers' Redis read model", _wall),
    Command(
        "check-config", "check a queue or simulator configuration file, offline", _check_config
    ),
    Command("report", "compliance report from the closed day records: CSV, JSON or HTML", _report),
)


def _faust_commands() -> list[str]:
    from faust.cli.faust import cli

    return sorted(name for name in cli.commands if name not in {c.name for c in COMMANDS})


def version_line() -> str:
    try:
        faust = version("faust-streaming")
    except PackageNotFoundError:  # pragma: no cover - a dependency
        faust = "unknown"
    return f"ccmon {__version__} (Faust {faust}, Python {platform.python_version()})"


def help_text() -> str:
    width = max(len(c.name) for c in COMMANDS) + 2
    ours = "\n".join(f"  {c.name:<{width}}{c.summary}" for c in COMMANDS)
    return (
        "usage: ccmon COMMAND [ARGS]...\n\n"
        "Real-time contact-centre monitoring on Kafka, Faust and Prometheus.\n\n"
        f"Commands (ccmon COMMAND --help for each):\n{ours}\n\n"
        "Faust's maintenance commands, with Faust's options (ccmon worker --help):\n"
        f"  {', '.join(_faust_commands())}\n\n"
        "Options:\n"
        "  -h, --help  show this help\n"
        "  --version   show ccmon's version (and Faust's)\n"
    )


def run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(help_text(), end="")
        return 0
    if argv[0] == "--version":
        print(version_line())
        return 0
    for command in COMMANDS:
        if argv[0] == command.name:
            return command.run(argv if command.run is _faust else argv[1:])
    # Faust's commands and its global options (ccmon -l info worker) go to Faust.
    if argv[0].startswith("-") or argv[0] in _faust_commands():
        return _faust(argv)
    print(f"ccmon: unknown command {argv[0]!r}; see ccmon --help", file=sys.stderr)
    return 2


def main() -> None:
    raise SystemExit(run(sys.argv[1:]))
