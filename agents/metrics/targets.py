"""Targets and thresholds as metrics, so alert rules say ``metric < on(channel, queue)
target`` and stay unchanged when the queue configuration changes.

Exported only for the channel x queue pairs this worker owns, like every other per-queue
series: two workers exporting the same target would break one-to-one matching."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from ccmon.agents.metrics.source import ViewCollector
from ccmon.agents.readmodel import QueueView
from ccmon.streams.config import QueuePolicy

LABELS = ["channel", "queue"]

TARGETS: tuple[tuple[str, str, Callable[[QueuePolicy], float]], ...] = (
    ("ccmon_service_level_target_ratio", "Service-level objective.", lambda p: p.target_ratio),
    (
        "ccmon_service_level_threshold_seconds",
        "Service-level answer threshold T.",
        lambda p: p.threshold_seconds,
    ),
    (
        "ccmon_service_level_min_volume",
        "Contacts offered in 30 min below which service-level alerts stay quiet.",
        lambda p: p.min_volume,
    ),
    ("ccmon_abandon_ratio_limit", "Abandon ratio that pages.", lambda p: p.abandon_ratio),
    ("ccmon_blocking_ratio_limit", "Blocking ratio that pages.", lambda p: p.blocking_ratio),
    (
        "ccmon_contacts_waiting_limit",
        "Contacts waiting that pages.",
        lambda p: p.waiting_contacts,
    ),
    (
        "ccmon_ticket_first_response_target_seconds",
        "Ticket first-response target.",
        lambda p: p.first_response_target_seconds,
    ),
    (
        "ccmon_ticket_resolution_target_seconds",
        "Ticket resolution target.",
        lambda p: p.resolution_target_seconds,
    ),
)


class TargetsCollector(ViewCollector):
    def families(self, views: Sequence[QueueView]) -> Iterator[Metric]:
        for name, doc, get in TARGETS:
            family = GaugeMetricFamily(name, doc, labels=LABELS)
            for v in views:
                if name.startswith("ccmon_ticket_") != (v.channel == "ticket"):
                    continue
                family.add_metric([v.channel, v.queue], float(get(v.policy)))
            yield family
        info = GaugeMetricFamily(
            "ccmon_queue_info",
            "Queue configuration: service-level variant, comparison and time zone.",
            labels=[*LABELS, "variant", "comparison", "timezone"],
        )
        for v in views:
            p = v.policy
            info.add_metric([v.channel, v.queue, p.variant, p.comparison, p.timezone], 1.0)
        yield info
