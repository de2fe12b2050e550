"""``python -m bench memory``: what ccmon keeps in Redis, by key class, per event and per pair.

Two uses:

- ``python -m bench memory`` runs the measurement: real Kafka and Redis, a preload of
  ``--events`` records (``--duplicates`` of them exact re-sends) over ``--queues`` x 3
  channels and ``--span-minutes`` of event time, drained by one ``ccmon worker`` whose
  counts are verified, then every key of the app's prefix is sized (``MEMORY USAGE``) and
  grouped by class: the duplicate guard, the minute and day buckets, the totals, the live
  contacts, the read model...
- ``python -m bench memory --redis URL --prefix P`` sizes a Redis that is already running
  (a cluster URL sizes every primary), without producing anything.

The JSON result (``--out``) holds the figures; docs/benchmarks.md, "Redis memory", quotes
them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench import options
from bench.events import TOPICS, build_dataset, queue_names
from bench.kafka import preload
from bench.options import log
from bench.services import ROOT, BenchError, Services, running_services
from bench.throughput import DrainConfig, run_ccmon
from tests.support.kafka_io import ensure_topics

SOURCE_PARTITIONS = 3
MB = 1024 * 1024
CHUNK = 2000  # MEMORY USAGE calls per pipeline round trip

# The first name of a key after the prefix (and after ``s:<p>:`` or a ``{prefix:p}`` hash
# tag) -> its class. Both the layout before issue 22 and the partition-tagged one.
CLASSES = {
    "seen": "guard",
    "g": "guard",
    "dg": "guard",
    "gi": "guard index",
    "t": "totals",
    "m": "minute buckets",
    "d": "day buckets",
    "p": "interval buckets",
    "intervals": "closed intervals (wall)",
    "l": "live contacts",
    "r": "record markers",
    "idx": "bucket index",
    "fence": "fence / progress",
    "meta": "fence / progress",
    "pos": "positions",
    "counted": "counted",
    "queues": "queue cap",
    "live": "read model",
    "live-index": "read model",
    "stream-time": "stream clock",
    "health": "health probe",
}
_TAGGED = re.compile(r"^\{[^}]*\}:")
_PARTITION = re.compile(r"^s:\d+:")


def key_class(key: str, prefix: str) -> str:
    rest = _TAGGED.sub("", key) if key.startswith("{") else key.removeprefix(f"{prefix}:")
    rest = _PARTITION.sub("", rest)
    first = rest.split(":", 1)[0]
    return CLASSES.get(first, first)


async def _primaries(redis: Any) -> list[Redis]:
    """One client per primary: a cluster client's nodes, or the plain client itself."""
    nodes = getattr(redis, "get_primaries", None)
    if nodes is None:
        return [redis]
    return [Redis(host=n.host, port=n.port) for n in nodes()]


async def inventory(redis: Any, prefix: str) -> dict[str, Any]:
    """Every key of ``prefix`` sized with ``MEMORY USAGE`` (all nested values sampled),
    summed by class, with each primary's ``INFO memory``."""
    by_class: dict[str, dict[str, int]] = defaultdict(lambda: {"keys": 0, "bytes": 0})
    info: dict[str, int] = defaultdict(int)
    began = time.monotonic()
    for node in await _primaries(redis):
        keys: list[str] = []
        async for key in node.scan_iter(match=f"*{prefix}*", count=10_000):
            text = key.decode() if isinstance(key, bytes) else str(key)
            if text.startswith((f"{prefix}:", f"{{{prefix}:")):
                keys.append(text)
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            async with node.pipeline(transaction=False) as pipe:
                for key in chunk:
                    pipe.memory_usage(key, samples=0)
                sizes = await pipe.execute()
            for key, size in zip(chunk, sizes, strict=True):
                entry = by_class[key_class(key, prefix)]
                entry["keys"] += 1
                entry["bytes"] += int(size or 0)  # None: expired since the scan
        memory = await node.info("memory")
        for name in ("used_memory", "used_memory_dataset", "used_memory_overhead"):
            info[name] += int(memory.get(name, 0))
        if node is not redis:
            await node.aclose()
    return {
        "classes": dict(sorted(by_class.items(), key=lambda kv: -kv[1]["bytes"])),
        "keys": sum(c["keys"] for c in by_class.values()),
        "bytes": sum(c["bytes"] for c in by_class.values()),
        "info": dict(info),
        "seconds": round(time.monotonic() - began, 1),
    }


def table(found: dict[str, Any], events: int, pairs: int) -> str:
    """Classes by size, with bytes per event and per pair."""
    lines = [
        f"{'key class':<20}{'keys':>12}{'MB':>10}{'share':>8}{'B/event':>10}{'B/pair':>12}",
    ]
    whole = max(found["bytes"], 1)
    for name, c in found["classes"].items():
        lines.append(
            f"{name:<20}{c['keys']:>12,}{c['bytes'] / MB:>10.1f}{100 * c['bytes'] / whole:>7.1f}%"
            f"{c['bytes'] / max(events, 1):>10.1f}{c['bytes'] / max(pairs, 1):>12,.0f}"
        )
    info = found["info"]
    lines.append(
        f"{'all keys':<20}{found['keys']:>12,}{found['bytes'] / MB:>10.1f}{'':>8}"
        f"{found['bytes'] / max(events, 1):>10.1f}{found['bytes'] / max(pairs, 1):>12,.0f}"
    )
    lines.append(
        f"INFO memory: used_memory {info.get('used_memory', 0) / MB:.1f} MB, dataset "
        f"{info.get('used_memory_dataset', 0) / MB:.1f} MB, overhead "
        f"{info.get('used_memory_overhead', 0) / MB:.1f} MB"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--events", type=int, default=1_000_000, help="records produced (default 1,000,000)")
    options.add_load(parser)
    add(
        "--span-minutes",
        type=float,
        default=60.0,
        help="event time the records cover, ending now (default 60: an hour of a 10,000-agent "
        "centre at a million events)",
    )
    add("--redis", help="only size this running Redis (or cluster) URL, with --prefix")
    add("--prefix", default="ccmon", help="with --redis: the key prefix (default ccmon)")
    add("--commit", help="run the worker of this commit (as python -m bench --commit)")
    options.add_output(parser, "memory")
    return parser


async def _measure_running(url: str, prefix: str) -> dict[str, Any]:
    redis = Redis.from_url(url)
    try:
        return await inventory(redis, prefix)
    finally:
        await redis.aclose()


async def _run(args: argparse.Namespace, services: Services, result: dict[str, Any]) -> None:
    from bench.cli import export_commit

    run_id = uuid.uuid4().hex[:6]
    workdir = services.directory / "work"
    tree = ROOT
    if args.commit:
        result["source"] = export_commit(args.commit, services.directory / "source")
        tree = Path(result["source"]["tree"])
    log(f"generating {args.events:,} records ({args.duplicates:.0%} re-sends)")
    data = build_dataset(
        args.events,
        queue_names(args.queues),
        run_id,
        time.time() - 60,
        args.span_minutes * 60,
        duplicates=args.duplicates,
    )
    await ensure_topics(services.kafka, TOPICS.values(), SOURCE_PARTITIONS)
    seconds = await preload(services.kafka, data.records, log)
    log(f"preloaded {len(data.records):,} records in {seconds:.1f}s")
    queue_config = workdir / "queues.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    queue_config.write_text(f"limits:\n  max_queues: {args.queues + 1}\n", encoding="utf-8")
    cfg = DrainConfig(args.partitions, 1, run_id, workdir, tree, queue_config)

    async def inspect() -> dict[str, Any]:
        log("sizing every key in Redis")
        redis = Redis.from_url(services.redis)
        try:
            return await inventory(redis, cfg.app_id)
        finally:
            await redis.aclose()

    cfg.inspect = inspect
    drain = await run_ccmon(services, data.expected, cfg, log)
    found = drain.extra.pop("inspect", None)
    result["drain"] = asdict(drain)
    result["records"] = len(data.records)
    result["unique_events"] = data.expected.events
    result["duplicates"] = data.expected.duplicates
    result["pairs"] = len(data.expected.by_queue)
    result["event_time_minutes"] = (data.last_event - data.first_event) / 60
    if found is None:
        raise BenchError("the drain failed before Redis was sized: " + "; ".join(drain.problems))
    result["redis"] = found


def main(argv: list[str] | None = None) -> int:
    from bench import report
    from bench.cli import source_state

    args = build_parser().parse_args(argv)
    stamp = options.stamp()
    out = options.result_path(args.out, "memory", stamp)
    result: dict[str, Any] = {
        "started": stamp,
        "args": options.arguments(args),
        "source": source_state(ROOT),
    }
    if args.redis:
        found = asyncio.run(_measure_running(args.redis, args.prefix))
        print(table(found, 0, 0))
        return 0
    status = 0
    try:
        with running_services(args.keep, log) as services:
            result["services"] = services.versions()
            asyncio.run(_run(args, services, result))
    except KeyboardInterrupt:
        return 130
    except BenchError as exc:
        log(f"error: {exc}")
        result["error"] = str(exc)
        status = 1
    report.write(out, result)
    if "redis" in result:
        print(table(result["redis"], result["unique_events"], result["pairs"]))
        print(
            f"{result['records']:,} records ({result['duplicates']:,} re-sends), "
            f"{result['pairs']:,} pairs, {result['event_time_minutes']:.0f} min of event time; "
            f"worker RSS {result['drain']['rss_steady_mb']:.0f} MB; counts "
            + ("PASS" if result["drain"]["verified"] else "FAIL")
        )
    log(f"results written to {out}")
    if status == 0 and not result.get("drain", {}).get("verified"):
        status = 2
    return status
