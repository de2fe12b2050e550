"""``ccmon demo``: the embedded stack, the simulator in real time, a worker, the wall server
and a compact live view of the queues — the whole product on one machine with no Java and
no services. The wall page's URL is printed (open it in a browser).

Ctrl-C (or SIGTERM) stops the simulator, the wall server, the worker and the embedded
servers, in that order; nothing is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from ccmon.agents.devkit import alerting
from ccmon.agents.devkit.embedded import EmbeddedError, embedded_stack
from ccmon.agents.devkit.launcher import WorkerError, WorkerProcess, owned_partitions
from ccmon.agents.devkit.simulator import (
    KafkaSink,
    Scenario,
    default_config,
    run_fast,
    run_realtime,
    with_scenarios,
)
from ccmon.agents.devkit.wallproc import WallError, WallProcess
from ccmon.streams.config import QueueConfigError, load_queue_config
from ccmon.streams.logs import refusal
from ccmon.streams.store.connect import get_many, redis_client

DEMO_QUEUES = Path(__file__).with_name("demo_queues.yaml")
FUTURE_SKEW_SECONDS = 30 * 86400  # a sped-up demo may run a month ahead
HISTORY_SECONDS = 3600.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccmon demo",
        description="Run the embedded broker + Redis, the simulator and a worker; show the "
        "queues live. Metrics are served at the printed URL until Ctrl-C.",
    )
    p.add_argument(
        "--kafka",
        default=os.environ.get("CCMON_DEMO_KAFKA"),
        help="use this Kafka instead of the embedded broker (HOST:PORT)",
    )
    p.add_argument(
        "--redis",
        default=os.environ.get("CCMON_DEMO_REDIS"),
        help="use this Redis instead of the embedded server (redis://...)",
    )
    p.add_argument("--port", type=int, default=6066, help="port of /metrics (default 6066)")
    p.add_argument(
        "--wall-port", type=int, default=8080, help="port of the wall page (default 8080)"
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per wall second (default 1: live)",
    )
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        help="drill to add: arrival_spike, agents_leaving, trunk_outage, ticket_flood",
    )
    p.add_argument("--seed", type=int, default=345)
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many wall seconds (default: until Ctrl-C)",
    )
    p.add_argument("--no-view", action="store_true", help="no live table, just log lines")
    p.add_argument(
        "--no-drill",
        action="store_true",
        help="no scheduled drill (by default support loses 60 %% of its agents after 30 s)",
    )
    return p


# What goes wrong in the demo, so that a newcomer sees the wall's states and its banner: 30 s
# into the live run, support loses 60 % of its agents for 30 minutes (12 of 31 for 32
# erlangs of work: overloaded in theory, queue full and abandons in practice). Its tile is
# BREACHED within about two minutes and a page alert (the service-level budget burn, then
# the waiting and blocking limits) reaches the banner within about six (README).
DRILL = Scenario("agents_leaving", start=30.0, duration=1800.0, factor=0.4, queues=("support",))


def start_worker(
    kafka: str, redis: str, port: int, workdir: Path, speed: float = 1.0
) -> WorkerProcess:
    settings = {
        "CCMON_KAFKA": kafka,
        "CCMON_REDIS": redis,
        "CCMON_PARTITIONS": "4",
        "CCMON_DECLARE_SOURCE_TOPICS": "true",
        "CCMON_QUEUE_CONFIG": queue_config(),
        "CCMON_APP_ID": "ccmon-demo",
        "CCMON_REDIS_PREFIX": "ccmon",
    }
    if speed != 1:
        # Sped up, the simulated time runs ahead of the wall clock: the windows follow the
        # events, and events "from the future" are the point, not a producer's clock error.
        settings["CCMON_CLOCK"] = "stream"
        settings["CCMON_MAX_FUTURE_SKEW_SECONDS"] = str(FUTURE_SKEW_SECONDS)
    worker = WorkerProcess(settings, workdir, name="worker", port=port, log_level="warn")
    return worker.start().wait_ready(120, lambda health: owned_partitions(health) > 0)


def _pct(value: Any) -> str:
    return "   -" if value is None else f"{100 * value:5.1f}%"


def _sec(value: Any) -> str:
    return "    -" if value is None else f"{value:5.0f}s"


def _agents(doc: dict[str, Any]) -> str:
    """Staffed, available, required agents and the predicted SL (the read model's agents)."""
    fc = doc.get("forecast") or {}
    need = "-" if not fc else str(fc["required"])
    return (
        f" {doc.get('staffed', 0):>6} {doc.get('available', 0):>6} {need:>6}"
        f" {_pct(fc.get('service_level_predicted')):>8}"
    )


def render(docs: list[dict[str, Any]], url: str, stats: str, wall: str = "") -> str:
    head = (
        f"ccmon demo — wall screen at {wall}/ — metrics at {url}/metrics — Ctrl-C to stop\n"
        f"{stats}\n\n"
        f"{'channel':8} {'queue':10} {'SL 30m':>7} {'target':>7} {'wait':>5} {'oldest':>7}"
        f" {'ASA 30m':>7} {'aband.':>7} {'blocked':>7} {'backlog':>7} {'offered today':>14}"
        f" {'agents':>6} {'avail.':>6} {'needed':>6} {'SL pred.':>8}"
    )
    rows = []
    for d in sorted(docs, key=lambda d: (d["channel"], d["queue"])):
        w30 = d["windows"]["30m"]
        today = d["windows"]["today"]
        sl = w30["service_level"]
        flag = "  " if sl is None or sl >= d["target"]["service_level"] else " !"
        backlog = str(d["tickets_open"]) if d["channel"] == "ticket" else "-"
        target = _pct(d["target"]["service_level"])
        rows.append(
            f"{d['channel']:8} {d['queue']:10} {_pct(sl):>7}{flag[1]}{target:>6}"
            f" {d['waiting']:>5} {_sec(d['oldest_waiting_seconds']):>7} {_sec(w30['asa']):>7}"
            f" {_pct(w30['abandon']):>7} {_pct(w30['blocking']):>7} {backlog:>7}"
            f" {today['offered']:>14.0f}{_agents(d.get('agents') or {})}"
        )
    return head + "\n" + "\n".join(rows or ["(waiting for the first events...)"])


async def live_view(
    redis_url: str, url: str, stop: asyncio.Event, sink: KafkaSink, plain: bool, wall: str
) -> None:
    redis = redis_client(redis_url)
    started = time.monotonic()
    try:
        while not stop.is_set():
            try:
                keys = [k async for k in redis.scan_iter("ccmon:live:*")]
                values = await get_many(redis, keys) if keys else []
                docs = [orjson.loads(v) for v in values if v]
            except Exception as exc:  # the view must never take the demo down
                print(f"live view: {exc!r}", file=sys.stderr)
                docs = []
            stats = (
                f"{sink.sent} events sent in {time.monotonic() - started:.0f}s; "
                f"simulator -> Kafka -> worker -> Redis read model"
            )
            screen = render(docs, url, stats, wall)
            if plain:
                print(stats, flush=True)
            else:
                sys.stdout.write("\x1b[H\x1b[2J" + screen + "\n")
                sys.stdout.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await redis.aclose()


async def drive(args: argparse.Namespace, kafka: str, redis: str, url: str, wall: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    config = replace(default_config(), seed=args.seed)
    if args.scenario:
        config = with_scenarios(config, args.scenario)
    if not args.no_drill:
        config = replace(config, scenarios=(*config.scenarios, DRILL))
    sink = KafkaSink(kafka)
    await sink.start()
    # An hour of history first (simulated as fast as possible), so the 5m..1h windows and
    # today are filled the moment the view appears; then live, in real time.
    now = time.time()
    # The history has no agent events: the live run logs its own agents in at `now`, and
    # the history's would stay logged in beside them (two simulations, one staffing).
    history = replace(config, agent_events=False)
    await run_fast(history, sink, now - HISTORY_SECONDS, HISTORY_SECONDS, stop)
    sim = asyncio.create_task(run_realtime(config, sink, args.speed, None, stop, start=now))

    def failed(task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            print(f"ccmon demo: simulator stopped: {task.exception()}", file=sys.stderr)
            stop.set()

    sim.add_done_callback(failed)
    view = asyncio.create_task(
        live_view(redis, url, stop, sink, args.no_view or not sys.stdout.isatty(), wall)
    )
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    await stop.wait()
    for task in (sim, view):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 10)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sink.close(), 10)


def queue_config() -> str:
    return os.environ.get("CCMON_QUEUE_CONFIG", str(DEMO_QUEUES))


def run_demo(args: argparse.Namespace) -> int:
    # The worker would refuse a broken queue file too, but only after the servers started.
    try:
        load_queue_config(queue_config())
    except QueueConfigError as exc:
        for line in refusal("demo", exc.lines):
            print(line, file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="ccmon-demo-"))
    url = f"http://127.0.0.1:{args.port}"
    try:
        with contextlib.ExitStack() as stack:
            if args.kafka and args.redis:
                kafka, redis = args.kafka, args.redis
            else:
                print(
                    "starting the embedded broker (Tansu) and Redis-compatible server (Valkey)...",
                    flush=True,
                )
                ekafka, eredis = stack.enter_context(embedded_stack(workdir))
                kafka, redis = args.kafka or ekafka, args.redis or eredis
            print(f"Kafka {kafka}  Redis {redis}\nstarting the ccmon worker...", flush=True)
            worker = start_worker(kafka, redis, args.port, workdir, args.speed)
            stack.callback(worker.stop)
            print(f"metrics: {url}/metrics   (worker log: {worker.log_path})", flush=True)
            banner: tuple[str, ...] = ()
            if (why := alerting.missing()) is None:
                am = stack.enter_context(alerting.demo_alerting(workdir, args.port, args.wall_port))
                banner = ("--alertmanager", am)
                print(f"alerts: Prometheus with ccmon's rules, Alertmanager at {am}", flush=True)
            else:
                print(f"alerts: none on the wall's banner: {why}", flush=True)
            if not args.no_drill:
                print(
                    "drill: 30 s in, support loses 60 % of its agents for 30 minutes: its tile "
                    "turns BREACHED within ~2 minutes, a page alert reaches the banner within ~6",
                    flush=True,
                )
            wall = WallProcess(redis, "ccmon", workdir, port=args.wall_port, args=banner).start()
            stack.callback(wall.stop)
            print(f"wall screen: {wall.url}/   <- open it in a browser", flush=True)
            asyncio.run(drive(args, kafka, redis, url, wall.url))
        print("demo stopped; everything it started has exited.")
        return 0
    except (EmbeddedError, WorkerError, WallError, alerting.AlertingError) as exc:
        print(f"ccmon demo: {exc}", file=sys.stderr)
        return 1
