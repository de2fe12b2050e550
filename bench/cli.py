"""``python -m bench``: the ccmon benchmark on real Kafka and Redis (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import subprocess
import tarfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from bench import baselines, costs, freshness, options, profile, report, restart, wall
from bench.events import TOPICS, build_dataset, queue_config, queue_names
from bench.kafka import preload
from bench.options import log
from bench.services import ROOT, BenchError, Services, running_services
from bench.throughput import DrainConfig, DrainResult, run_ccmon
from tests.support.kafka_io import ensure_topics

PHASES = ("ccmon", "freshness", "naive", "quix", "restart", "costs", "wall")
QUICK_EVENTS, QUICK_QUEUES, QUICK_FRESH_SECONDS = 6_000, 150, 10.0
QUICK = f"{QUICK_EVENTS:,} events, {QUICK_QUEUES} queues, {QUICK_FRESH_SECONDS:.0f}s freshness"
SNAPSHOT, TICK = "CCMON_SNAPSHOT_INTERVAL_SECONDS", "CCMON_TICK_INTERVAL_SECONDS"
SCRAPED = "scraped every 1 s"
SOURCE_PARTITIONS = 3
SPAN_SECONDS = 50 * 60  # event times of the preload: within the 1h window, usually one UTC day


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark ccmon on real Kafka + Redis (started in a temporary directory and "
            "stopped at the end, also on Ctrl-C): drain throughput with count verification, "
            "freshness at a steady rate, worker memory and /metrics cost, and two baselines "
            "on the same preloaded data (a naive aiokafka + prometheus_client consumer; "
            "quixstreams 1-minute windowed counts). Prints a table, writes a JSON file."
        ),
        epilog=f"Phases: {', '.join(PHASES)}. Method and reference numbers: "
        "docs/benchmarks.md. Exit status: 0 all counts PASS, 1 error, 2 a count FAILed.",
    )
    add = parser.add_argument
    add("--quick", action="store_true", help=f"small run for manual checks: {QUICK}")
    add("--events", type=int, help="events to preload (default 200000)")
    add("--queues", type=int, help="queues per channel in the preload (default 500)")
    add("--partitions", type=int, nargs="+", default=[4], help="CCMON_PARTITIONS (default 4)")
    add("--workers", type=int, nargs="+", default=[1], help="workers per drain (default 1)")
    add(
        "--ablations",
        action="store_true",
        help="extra drains without the Redis snapshot and without expiry ticks, to show "
        "what the per-queue timers cost",
    )
    add("--repeat", type=int, default=1, help="run the ccmon drains this many times, interleaved")
    add("--profile", action="store_true", help="extra drain under cProfile: where time goes")
    add("--rate", type=float, nargs="+", default=[200.0], help="freshness rates, ev/s")
    add("--fresh-seconds", type=float, help="freshness duration per rate (default 60)")
    add("--fresh-queues", type=int, default=3, help="queues per channel, freshness run")
    add(
        "--wall-rate",
        type=float,
        default=100.0,
        help="wall phase: ev/s, measured produce -> value on the wall page in Chromium "
        "(default 100; duration --fresh-seconds, queues --fresh-queues)",
    )
    add("--skip", nargs="+", choices=PHASES, default=[], metavar="PHASE", help="leave out")
    add(
        "--tree",
        type=Path,
        default=ROOT,
        help="ccmon source tree whose worker runs (default: this checkout), e.g. a "
        "`git archive` export of another commit, to compare versions",
    )
    add(
        "--commit",
        help="benchmark the worker of this commit (git archive of ccmon/, agents/, streams/ into "
        "the temporary directory), e.g. HEAD to ignore uncommitted changes, or HEAD~3",
    )
    options.add_output(parser, "run")
    return parser


def machine() -> dict[str, Any]:
    freq = psutil.cpu_freq()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "cpu_mhz": round(freq.current) if freq else None,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _git(tree: Path, *argv: str) -> str:
    done = subprocess.run(["git", "-C", str(tree), *argv], capture_output=True, check=False)
    return done.stdout.decode().strip()


def source_state(tree: Path) -> dict[str, Any]:
    """Which ccmon was measured: the commit, and the worker files changed on top of it."""
    changed = _git(tree, "status", "--porcelain", "--", "agents", "streams").splitlines()
    return {"tree": str(tree), "commit": _git(tree, "rev-parse", "HEAD"), "uncommitted": changed}


def export_commit(commit: str, directory: Path) -> dict[str, Any]:
    """ccmon/, agents/ and streams/ of ``commit`` into ``directory`` (read-only for the
    repo). The worker runs as ``python -m ccmon``, so commits older than the ccmon
    namespace cannot run in this harness: benchmark them with their own bench/."""
    sha = _git(ROOT, "rev-parse", "--verify", f"{commit}^{{commit}}")
    if not sha:
        raise BenchError(f"--commit {commit}: not a commit of {ROOT}")
    if not _git(ROOT, "ls-tree", "--name-only", sha, "ccmon"):
        raise BenchError(
            f"--commit {commit}: it has no ccmon/ package (older layout); run that commit's "
            "own `python -m bench` from a checkout of it"
        )
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", sha, "ccmon", "agents", "streams"],
        capture_output=True,
        check=True,
    ).stdout
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return {"tree": str(directory), "commit": sha, "uncommitted": []}


def _drain_configs(
    args: argparse.Namespace, run_id: str, workdir: Path, queue_config: Path | None
) -> list[DrainConfig]:
    def make(partitions: int, workers: int, **extra: Any) -> DrainConfig:
        return DrainConfig(partitions, workers, run_id, workdir, args.tree, queue_config, **extra)

    configs = []
    p, w = args.partitions[0], args.workers[0]
    for i in range(1, args.repeat + 1):
        again = f"run {i}" if args.repeat > 1 else ""
        configs += [make(p, w, variant=again) for p in args.partitions for w in args.workers]
        if args.ablations:
            for name, env in (("no snapshot", {SNAPSHOT: "86400"}), ("no ticks", {TICK: "86400"})):
                configs.append(make(p, w, variant=", ".join(filter(None, (name, again))), env=env))
    configs[0].scrape_rounds = 3 if args.quick else 8
    # Issue 11's bar: the same drain with Prometheus scraping worker 1 every second.
    configs.append(make(p, w, variant=SCRAPED, scrape_every=1.0))
    if args.profile:
        stats = workdir / f"worker-{run_id}.prof"
        configs.append(make(p, w, variant="cProfile", profile=stats))
    return configs


async def _run(args: argparse.Namespace, services: Services, result: dict[str, Any]) -> None:
    run_id = uuid.uuid4().hex[:6]
    workdir = services.directory / "work"
    workdir.mkdir(parents=True, exist_ok=True)

    def steady(rate: float) -> freshness.FreshConfig:
        return freshness.FreshConfig(
            rate,
            args.fresh_seconds,
            args.fresh_queues,
            args.partitions[0],
            args.tree,
            run_id,
            workdir,
        )

    if args.commit:
        result["source"] = export_commit(args.commit, services.directory / "source")
        args.tree = Path(result["source"]["tree"])
        log(f"worker source: {args.commit} = {result['source']['commit'][:10]}")
    skip = set(args.skip)
    result["services"] = services.versions()
    n = args.events

    log(f"generating {n:,} events over {args.queues} queues x 3 channels")
    dataset = build_dataset(n, queue_names(args.queues), run_id, time.time() - 60, SPAN_SECONDS)
    await ensure_topics(services.kafka, TOPICS.values(), SOURCE_PARTITIONS)
    seconds = await preload(services.kafka, dataset.records, log)
    result["preload"] = {"events": n, "seconds": seconds, "rate": n / seconds}
    log(f"preloaded {n:,} events in {seconds:.1f}s ({n / seconds:,.0f} ev/s)")

    drains: list[DrainResult] = []
    result["drain"] = []

    async def quix(when: str) -> None:
        drain = await baselines.run_quix(services, dataset.expected, run_id, workdir, log, when)
        drains.append(drain)
        result["drain"].append(asdict(drain))

    # quixstreams drains just before and just after ccmon's first drain, and the ratio is
    # against their mean: the VM's speed drifts by a third within minutes, and one
    # quixstreams drain two minutes after ccmon's measured the drift as much as either
    # (DEVELOPERS.md, pitfall 51).
    bracket = "quix" not in skip and "ccmon" not in skip
    if bracket:
        await quix("before")
    if "ccmon" not in skip:
        configs = _drain_configs(args, run_id, workdir, queue_config(workdir, args.queues))
        for i, cfg in enumerate(configs):
            drains.append(await run_ccmon(services, dataset.expected, cfg, log))
            result["drain"].append(asdict(drains[-1]))  # kept if a later phase fails
            if cfg.profile is not None and cfg.profile.exists():
                result["profile"] = profile.analyse(cfg.profile)
            if i == 0 and bracket:
                await quix("after")
    result["scaling"] = report.scaling(result["drain"])
    if "naive" not in skip:
        drains.append(await baselines.run_naive(services, dataset.expected, run_id, log))
        result["drain"].append(asdict(drains[-1]))
    if "quix" not in skip and not bracket:
        await quix("")
    if "freshness" not in skip:
        result["freshness"] = []
        for rate in args.rate:
            result["freshness"].append(asdict(await freshness.run(services, steady(rate), log)))
    if "restart" not in skip:
        restart_cfg = restart.RestartConfig(
            n,
            args.queues,
            args.partitions[0],
            run_id,
            workdir,
            args.tree,
            queue_config(workdir, args.queues),
        )
        result["restart"] = await restart.run(services, restart_cfg, log)
    if "wall" not in skip:
        result["wall"] = asdict(await wall.run(services, steady(args.wall_rate), log))
    if "costs" not in skip:
        first = drains[0] if drains and drains[0].system.startswith("ccmon") else None
        cpu_ms = float(first.extra.get("cpu_ms_per_event", 0.0)) if first else 0.0
        sample = dataset.records[:20_000]
        result["costs"] = await costs.run(services, sample, cpu_ms * 1000, log)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.events = args.events or QUICK_EVENTS
        args.queues = args.queues or QUICK_QUEUES
        args.fresh_seconds = args.fresh_seconds or QUICK_FRESH_SECONDS
    args.events = args.events or 200_000
    args.queues = args.queues or 500
    args.fresh_seconds = args.fresh_seconds or 60.0
    if args.events < args.queues * 3 * 4:
        raise SystemExit(f"--events must be at least {args.queues * 12} for {args.queues} queues")
    stamp = options.stamp()
    out = options.result_path(args.out, "run", stamp)
    result: dict[str, Any] = {
        "started": stamp,
        "args": options.arguments(args),
        "machine": machine(),
        "source": source_state(args.tree.resolve()),
    }
    status = 0
    try:
        with running_services(args.keep, log) as services:
            asyncio.run(_run(args, services, result))
    except KeyboardInterrupt:
        log("interrupted; services stopped")
        return 130
    except BenchError as exc:
        log(f"error: {exc}")
        result["error"] = str(exc)
        status = 1
    result["seconds"] = options.elapsed()
    report.write(out, result)
    print(report.table(result))
    log(f"results written to {out}")
    if status == 0 and not report.all_verified(result):
        status = 2
    return status
