"""Faust's own health as Prometheus metrics, measured properly.

Faust's bundled Prometheus monitor observes its latency histograms with values that come
out ~0 ms (pitfall 8 in DEVELOPERS.md). This sensor times what we care about with
``time.perf_counter`` itself: commits and rebalances, and remembers the last offset read
per partition for the lag collector. (Batch processing is timed by the agents themselves:
with manual acknowledgement Faust's per-event stream hooks never see an event leave.)
"""

from __future__ import annotations

import time
from typing import Any

from faust import Sensor
from prometheus_client import CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class CcmonSensor(Sensor):
    def __init__(self, registry: CollectorRegistry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_read: dict[Any, int] = {}
        self.messages = Counter(
            "ccmon_faust_messages_received",
            "Messages received from Kafka, by topic.",
            ["topic"],
            registry=registry,
        )
        self.commits = Histogram(
            "ccmon_faust_commit_seconds",
            "Duration of offset commits.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.rebalances = Counter(
            "ccmon_faust_rebalances",
            "Rebalances this worker went through.",
            registry=registry,
        )

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.last_read[tp] = offset
        self.messages.labels(tp.topic).inc()

    def on_commit_initiated(self, consumer: Any) -> Any:
        return time.perf_counter()

    def on_commit_completed(self, consumer: Any, state: Any) -> None:
        if state is not None:
            self.commits.observe(time.perf_counter() - state)

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        self.rebalances.inc()
        return {}
