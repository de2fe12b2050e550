"""Run the two baselines (bench.naive, bench.quix) as their own processes on the same
preload, sample their memory from outside as for ccmon, and check their counts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.events import Expected
from bench.load import ForeignLoad
from bench.services import ROOT, BenchError, Services
from bench.throughput import DrainResult
from bench.worker import MB, RssSampler
from ccmon.agents.devkit.procs import die_with_parent

Log = Callable[[str], None]
TIMEOUT_SECONDS = 900.0


def check(result: dict[str, Any], expected: Expected) -> list[str]:
    problems = []
    want_queues = {f"{c}|{q}": n for (c, q), n in expected.queue_totals().items()}
    got_queues = {k: v for k, v in result["by_queue"].items() if v}
    wrong = [
        k for k in want_queues.keys() | got_queues.keys() if want_queues.get(k) != got_queues.get(k)
    ]
    if wrong:
        k = sorted(wrong)[0]
        problems.append(
            f"{len(wrong)} channel x queue counts differ, e.g. {k}: "
            f"{got_queues.get(k, 0)}, want {want_queues.get(k, 0)}"
        )
    want_types = {f"{t}|{k}": n for (t, k), n in expected.by_topic_type.items()}
    if result["by_topic_type"] != want_types:
        problems.append(f"per topic/type intake differs: {result['by_topic_type']} != {want_types}")
    if result["events"] != expected.events:
        problems.append(f"counted {result['events']} events, want {expected.events}")
    return problems


async def _run_child(
    label: str, module: str, argv: list[str], log_path: Path, log: Log
) -> tuple[dict[str, Any], int]:
    with log_path.open("ab") as errors:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *argv,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    assert proc.stdout is not None
    result: dict[str, Any] | None = None
    try:
        with RssSampler([proc.pid]) as sampler, ForeignLoad() as load:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                while line := await proc.stdout.readline():
                    message = orjson.loads(line)
                    if "progress" in message:
                        rss = sampler.latest / MB
                        log(f"{label}: {message['progress']:,} events, RSS {rss:,.0f} MB")
                    else:
                        result = message["result"]
                await proc.wait()
        if result is not None:
            result["foreign_cpu_percent"] = load.percent
    except TimeoutError:
        raise BenchError(
            f"{label} did not finish in {TIMEOUT_SECONDS:.0f}s; see {log_path}"
        ) from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if result is None or proc.returncode != 0:
        text = await asyncio.to_thread(log_path.read_text, errors="replace")
        tail = "\n".join(text.splitlines()[-20:])
        raise BenchError(f"{label} failed (exit {proc.returncode}):\n{tail}")
    return result, sampler.peak


def _drain_result(system: str, raw: dict[str, Any], peak: int, expected: Expected) -> DrainResult:
    problems = check(raw, expected)
    return DrainResult(
        system=system,
        events=raw["events"],
        seconds=raw["seconds"],
        rate=raw["events"] / raw["seconds"] if raw["seconds"] > 0 else 0.0,
        startup_seconds=raw["startup_seconds"],
        rss_peak_mb=peak / MB,
        rss_steady_mb=raw["rss_end"] / MB,
        verified=not problems,
        problems=problems,
        extra={k: v for k, v in raw.items() if k not in ("by_queue", "by_topic_type")},
    )


async def run_naive(services: Services, expected: Expected, run_id: str, log: Log) -> DrainResult:
    label = "naive aiokafka + prometheus_client"
    log(f"{label}: draining")
    raw, peak = await _run_child(
        "naive",
        "bench.naive",
        [services.kafka, f"bench-{run_id}-naive", str(expected.events)],
        services.directory / "naive.log",
        log,
    )
    result = _drain_result(label, raw, peak, expected)
    log(f"{label}: {result.rate:,.0f} ev/s, counts {'PASS' if result.verified else 'FAIL'}")
    return result


async def run_quix(
    services: Services, expected: Expected, run_id: str, workdir: Path, log: Log, when: str = ""
) -> DrainResult:
    """quixstreams' drain of the preload; ``when`` names one of several in a run (its own
    consumer group, state and log)."""
    label = "quixstreams 1-min tumbling count" + (f" ({when})" if when else "")
    log(f"{label}: draining")
    tag = f"-{when}" if when else ""
    state = workdir / f"quix-state{tag}"
    raw, peak = await _run_child(
        "quixstreams",
        "bench.quix",
        [services.kafka, f"bench-{run_id}-quix{tag}", str(expected.events), str(state)],
        services.directory / f"quix{tag}.log",
        log,
    )
    result = _drain_result(label, raw, peak, expected)
    log(f"{label}: {result.rate:,.0f} ev/s, counts {'PASS' if result.verified else 'FAIL'}")
    return result
