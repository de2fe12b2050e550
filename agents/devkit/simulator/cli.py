"""``ccmon simulate``: argument parsing and the run itself (wired into ``ccmon`` elsewhere)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
import time
from dataclasses import replace
from datetime import datetime

from ccmon.agents.devkit.simulator.config import load_config, parse_duration
from ccmon.agents.devkit.simulator.defaults import default_config
from ccmon.agents.devkit.simulator.model import SimConfig
from ccmon.agents.devkit.simulator.runner import RunStats, run_fast, run_realtime
from ccmon.agents.devkit.simulator.scenarios import SCENARIOS, with_scenarios
from ccmon.agents.devkit.simulator.sinks import (
    DEFAULT_TOPIC_PREFIX,
    JsonlSink,
    KafkaSink,
    Progress,
    SinkError,
    default_topics,
)

DEFAULT_FAST_DURATION = 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML or JSON simulator config "
        "(default: the built-in demo queues; see docs/simulator.md)",
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME",
        action="append",
        default=[],
        help=f"drill to add, repeatable or comma-separated: {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--seed", type=int, help="random seed (default: the config's, 42)")
    parser.add_argument(
        "--duration",
        metavar="D",
        help="simulated time to cover, e.g. 2h, 90m, 3600s (default: 1h with --fast, "
        "until interrupted otherwise)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="simulated seconds per wall second (accelerated replay)",
    )
    mode.add_argument("--realtime", action="store_true", help="live pace, speed 1 (default)")
    mode.add_argument("--fast", action="store_true", help="as fast as possible")
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--output-dir", metavar="DIR", help="write <prefix>-{calls,chats,tickets}.jsonl"
    )
    out.add_argument("--kafka", metavar="BOOTSTRAP", help="produce to Kafka, e.g. localhost:9092")
    parser.add_argument("--file-prefix", default="sim", help="JSONL file name prefix (sim)")
    parser.add_argument(
        "--topic-prefix",
        default=DEFAULT_TOPIC_PREFIX,
        help="topics are <prefix>.calls/.chats/.tickets (contact-center)",
    )
    for channel, suffix in (("call", "calls"), ("chat", "chats"), ("ticket", "tickets")):
        parser.add_argument(f"--{suffix}-topic", metavar="TOPIC", help=f"topic for {channel}s")
    parser.add_argument("--linger-ms", type=int, default=20, help="Kafka batching delay (20)")
    parser.add_argument(
        "--start",
        metavar="RFC3339",
        help="simulated start instant, e.g. 2024-05-02T08:00:00+02:00 (default: now; with "
        "--fast, now minus the duration so no event lies in the future)",
    )
    parser.add_argument(
        "--time-format",
        choices=("rfc3339", "epoch_ms"),
        help="occurred_at as RFC 3339 UTC (default) or epoch milliseconds",
    )
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="status line period on stderr, 0 to silence (5)",
    )


def parse_start(text: str) -> float:
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--start: {text!r} is not an RFC 3339 timestamp") from None
    if dt.tzinfo is None:
        raise ValueError(f"--start: {text!r} needs an offset (Z or +hh:mm)")
    return dt.timestamp()


def build_config(args: argparse.Namespace) -> SimConfig:
    config = load_config(args.config) if args.config else default_config()
    if args.seed is not None:
        config = replace(config, seed=args.seed)
    if args.time_format:
        config = replace(config, time_format=args.time_format)
    names = [n.strip() for item in args.scenario for n in item.split(",") if n.strip()]
    try:
        return with_scenarios(config, names)
    except ValueError as exc:
        raise ValueError(f"--scenario: {exc}") from None


def _plan(args: argparse.Namespace) -> tuple[float | None, float | None, float | None]:
    """(speed or None for fast, duration, start) after checking the combination."""
    duration = parse_duration(args.duration, "--duration") if args.duration else None
    if args.speed is not None and not (0 < args.speed < math.inf):
        raise ValueError(f"--speed: must be a finite number > 0, got {args.speed}")
    speed = None if args.fast else (args.speed or 1.0)
    if speed is None and duration is None:
        duration = DEFAULT_FAST_DURATION
    if args.progress_interval < 0 or args.linger_ms < 0:
        raise ValueError("--progress-interval and --linger-ms must be >= 0")
    start = parse_start(args.start) if args.start else None
    if start is None and speed is None:
        start = time.time() - (duration or 0.0)
    return speed, duration, start


def _install_stop(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available off the main thread or on some platforms: Ctrl-C then just raises.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    return installed


async def run_cli(args: argparse.Namespace) -> int:
    """Exit status: 0 done (or stopped by a signal), 1 delivery failure, 2 bad input."""

    def fail(message: str, status: int) -> int:
        for line in message.splitlines():  # a configuration file's problems: one line each
            print(f"ccmon simulate: error: {line}", file=sys.stderr)
        return status

    try:
        config = build_config(args)
        speed, duration, start = _plan(args)
    except ValueError as exc:  # bad flags, or the --config file's problems (ConfigError)
        return fail(str(exc), 2)
    if not args.output_dir and not args.kafka:
        return fail("choose an output: --output-dir DIR or --kafka BOOTSTRAP", 2)

    sink: JsonlSink | KafkaSink
    try:
        if args.output_dir:
            sink = JsonlSink(args.output_dir, args.file_prefix)
        else:
            topics = default_topics(args.topic_prefix)
            for channel, suffix in (("call", "calls"), ("chat", "chats"), ("ticket", "tickets")):
                topics[channel] = getattr(args, f"{suffix}_topic") or topics[channel]
            sink = KafkaSink(args.kafka, topics, linger_ms=args.linger_ms)
            await sink.start()
    except SinkError as exc:
        return fail(str(exc), 1 if args.kafka else 2)

    stop = asyncio.Event()
    installed = _install_stop(stop)
    progress = Progress(args.progress_interval)
    mode = "as fast as possible" if speed is None else f"at {speed:g}x"
    print(f"ccmon simulate: seed {config.seed}, {mode} -> {sink.describe()}", file=sys.stderr)
    stats = RunStats()
    status = 0
    try:
        if speed is None:
            assert start is not None and duration is not None
            stats = await run_fast(config, sink, start, duration, stop, progress=progress)
        else:
            stats = await run_realtime(
                config, sink, speed, duration, stop, start=start, progress=progress
            )
    except SinkError as exc:
        status = fail(str(exc), 1)
    finally:
        loop = asyncio.get_running_loop()
        for sig in installed:
            loop.remove_signal_handler(sig)
        try:
            await sink.close()
        except SinkError as exc:
            status = fail(str(exc), 1)
    if status:
        return status
    counts = ", ".join(f"{stats.by_channel[c]} {c}" for c in ("call", "chat", "ticket"))
    summary = progress.finish(stats.events, stats.sim_end, stats.sim_start)
    print(f"{summary} ({counts}){' - stopped' if stats.stopped else ''}", file=sys.stderr)
    return 0
