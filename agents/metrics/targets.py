"""Targets and thresholds as metrics, so alert rules say ``metric < on(channel, queue)
target`` and stay unchanged when the queue configuration changes.

Exported only for the channel x queue pairs this worker owns, like every other per-queue
series: two workers exporting the same target would break one-to-one matching."""

from __future__ import annotations

from collections.abc import Callable

from ccmon.agents.metrics.text import Family, escape, line, pair_labels
from ccmon.agents.readmodel.views import QueueView
from ccmon.streams.config import QueuePolicy

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


INFO = Family(
    "ccmon_queue_info",
    "gauge",
    "Queue configuration: service-level variant, comparison and time zone.",
)
FAMILIES = (*(Family(name, "gauge", doc) for name, doc, _ in TARGETS), INFO)


def lines(view: QueueView, out: dict[str, list[str]]) -> None:
    labels = pair_labels(view.channel, view.queue)
    p = view.policy
    for name, _, get in TARGETS:
        if name.startswith("ccmon_ticket_") == (view.channel == "ticket"):
            out.setdefault(name, []).append(line(name, labels, float(get(p))))
    info = (
        f'{labels},variant="{escape(p.variant)}",comparison="{escape(p.comparison)}",'
        f'timezone="{escape(p.timezone)}"'
    )
    out.setdefault(INFO.name, []).append(line(INFO.name, info, 1.0))
