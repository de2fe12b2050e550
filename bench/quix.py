"""Baseline (b), run as its own process by the harness: quixstreams computing 1-minute
tumbling-window counts per channel x queue over the three source topics — its Application
API with RocksDB state, changelog topics, a ``group_by`` repartition (as ccmon re-keys by
channel x queue), consumer group from the earliest offset. Event time is the Kafka record
timestamp (the harness sets it to ``occurred_at``); the grace period keeps every event.

    python -m bench.quix BOOTSTRAP GROUP EXPECTED STATE_DIR
Prints ``{"progress": n}`` lines while draining and one ``{"result": {...}}`` line at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import orjson
import psutil
from quixstreams import Application

from bench.events import TOPICS


def emit(obj: object) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


class Drain:
    def __init__(self, app: Application, expected: int) -> None:
        self.app = app
        self.expected = expected
        self.spawned = time.monotonic()
        self.t0 = self.cpu0 = 0.0
        self.t1 = self.cpu1 = 0.0
        self.seen = 0
        self.counted = 0
        self.last = time.monotonic()
        self.windows: dict[tuple[str, int], int] = {}
        self.by_topic_type: Counter[str] = Counter()

    def first(self, value: Any, key: Any, timestamp: int, headers: Any) -> None:
        if not self.t0:
            self.t0, self.cpu0 = time.monotonic(), time.process_time()
        self.seen += 1

    def window(self, value: Any, key: Any, timestamp: int, headers: Any) -> None:
        # .current() emits the window's running count on every event: keep the latest.
        self.windows[(key, value["start"])] = value["value"]
        self.counted += 1
        now = time.monotonic()
        if now - self.last >= 2:
            self.last = now
            emit({"progress": self.counted})
        if self.counted >= self.expected and not self.t1:
            self.t1, self.cpu1 = now, time.process_time()
            self.app.stop()

    def add_channel(self, channel: str, topic_name: str) -> None:
        sdf = self.app.dataframe(self.app.topic(topic_name, value_deserializer="json"))
        sdf = sdf.update(self.first, metadata=True)
        sdf = sdf.apply(lambda v: {"cq": f"{channel}|{v['queue']}", "type": v["type"]})
        sdf = sdf.update(lambda v: self.by_topic_type.update((f"{topic_name}|{v['type']}",)))
        sdf = sdf.group_by("cq", name=f"cq-{channel}")
        sdf = (
            sdf.tumbling_window(timedelta(minutes=1), grace_ms=timedelta(hours=2)).count().current()
        )
        sdf.update(self.window, metadata=True)


def main() -> None:
    bootstrap, group, expected, state_dir = sys.argv[1:5]
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel=logging.WARNING,
    )
    drain = Drain(app, int(expected))
    for channel, topic in TOPICS.items():
        drain.add_channel(channel, topic)
    app.run()
    by_queue: Counter[str] = Counter()
    for (key, _), count in drain.windows.items():
        by_queue[key] += count
    result: dict[str, Any] = {
        "events": drain.counted,
        "seconds": drain.t1 - drain.t0,
        "startup_seconds": drain.t0 - drain.spawned,
        "cpu_ms_per_event": 1000 * (drain.cpu1 - drain.cpu0) / max(drain.counted, 1),
        "cpu_percent": 100 * (drain.cpu1 - drain.cpu0) / max(drain.t1 - drain.t0, 1e-9),
        "rss_end": psutil.Process().memory_info().rss,
        "by_queue": by_queue,
        "by_topic_type": drain.by_topic_type,
        "windows": len(drain.windows),
    }
    emit({"result": result})


if __name__ == "__main__":
    main()
