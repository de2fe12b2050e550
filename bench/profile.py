"""Where a worker's time goes, from a cProfile of its main thread during a drain
(``--profile``; the profiled drain runs about half as fast and is not a throughput number).

cProfile counts a coroutine's time only while it runs (each resume is a call), so the
inclusive time of a task's coroutine is the event-loop time that task used, callees
included. Self time grouped by package gives the complementary view. Faust's consumer
thread (aiokafka fetches) is not in the profile.
"""

from __future__ import annotations

import pstats
from collections import Counter
from pathlib import Path
from typing import Any

# (path suffix, function) of each long-lived task of the worker -> what it does.
TASKS: tuple[tuple[str, str, str], ...] = (
    ("agents/worker/ingest.py", "run", "ingest tasks: validate, queue cap, repartition send"),
    ("agents/worker/counting.py", "count", "counting agent: guard round trip, domain logic, state"),
    ("agents/worker/snapshot.py", "publish_snapshot", "read-model snapshot to Redis (timer, 1 s)"),
    ("agents/worker/exposition.py", "compute_forecasts", "staffing forecasts (budgeted task)"),
    ("agents/worker/web.py", "metrics_page", "/metrics requests"),
    ("faust/transport/producer.py", "_handle_pending", "Faust producer buffer: every send"),
    ("aiokafka/producer/sender.py", "_sender_routine", "aiokafka sender (produce requests)"),
    ("faust/transport/consumer.py", "_fetcher", "Faust fetcher: hand records to streams"),
    ("faust/transport/consumer.py", "_commit_handler", "Faust offset commits"),
)
# Synchronous ccmon functions whose inclusive time is exact.
FUNCTIONS: tuple[tuple[str, str, str], ...] = (
    ("streams/contract/events.py", "validate", "streams.contract.events.validate"),
    (
        "agents/worker/counting.py",
        "effects",
        "agents.worker.counting.Counting.effects (domain logic)",
    ),
    (
        "agents/readmodel/views.py",
        "step",
        "agents.readmodel.views.BuildRun.step (read-model build)",
    ),
    ("agents/worker/snapshot.py", "document", "agents.worker.snapshot.document (JSON per queue)"),
    (
        "agents/domain/expiry.py",
        "apply_tick",
        "agents.domain.expiry.apply_tick (scan of the state)",
    ),
    ("faust/topics.py", "publish_message", "faust Topic.publish_message (each send)"),
)
IDLE = "<method 'poll' of 'select.epoll' objects>"


def _group(file: str, func: str) -> str:
    if func == IDLE:
        return "idle: waiting in epoll"
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    for pkg in ("/agents/", "/streams/"):
        if pkg in file:
            return "ccmon " + pkg.strip("/")
    if file == "~":
        return "builtins (C)"
    if "asyncio" in file:
        return "asyncio"
    return "stdlib " + Path(file).name


def analyse(path: Path, top: int = 15) -> dict[str, Any]:
    stats = pstats.Stats(str(path))
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    wall = sum(v[2] for v in entries.values())
    groups: Counter[str] = Counter()
    functions: list[tuple[float, str]] = []
    inclusive: dict[str, float] = {}
    for (file, line, func), (_, _, tottime, cumtime, _) in entries.items():
        groups[_group(file, func)] += tottime
        functions.append((tottime, f"{Path(file).name}:{line}({func})"))
        for suffix, name, label in (*TASKS, *FUNCTIONS):
            if func == name and file.endswith(suffix):
                inclusive[label] = inclusive.get(label, 0.0) + cumtime

    def share(seconds: float) -> float:
        return round(100 * seconds / wall, 1) if wall else 0.0

    return {
        "profiled_seconds": wall,
        "inclusive_percent": {
            k: share(v) for k, v in sorted(inclusive.items(), key=lambda i: -i[1])
        },
        "self_percent_by_package": {k: share(v) for k, v in groups.most_common(14)},
        "top_self_functions": [
            f"{share(t):5.1f}%  {name}" for t, name in sorted(functions, reverse=True)[:top]
        ],
    }
