"""Targets and thresholds as metrics, so alert rules say ``metric < on(channel, queue)
target`` and stay unchanged when the queue configuration changes.

Exported only for the channel x queue pairs this worker owns, like every other per-queue
series: two workers exporting the same target would break one-to-one matching."""

from __future__ import annotations

import functools
from collections.abc import Callable

from ccmon.agents.metrics.text import Family, escape, line, pair_labels
from ccmon.agents.readmodel.views import QueueView
from ccmon.streams import thresholds
from ccmon.streams.config import QueuePolicy
from ccmon.streams.thresholds import Level

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
        "Ticket first reply promise, in business seconds of the queue's calendar.",
        lambda p: p.first_response_target_seconds,
    ),
    (
        "ccmon_ticket_next_reply_target_seconds",
        "Ticket next reply promise (after a customer message), in business seconds.",
        lambda p: p.next_reply_target_seconds,
    ),
    (
        "ccmon_ticket_resolution_target_seconds",
        "Ticket resolution promise, in business seconds, paused while pending.",
        lambda p: p.resolution_target_seconds,
    ),
)


# The threshold model's at-risk levels (ccmon.streams.thresholds), what Grafana's wall colours
# its stat panels from beside the limits above: the ccmon wall reads the same levels from the
# read model, so both walls agree. Per KPI: the family, its help, the level's name.
AT_RISK: tuple[tuple[str, str, str], ...] = (
    (
        "ccmon_service_level_at_risk_ratio",
        "Service level below which a wall tile is at risk (target + margin).",
        "service_level",
    ),
    ("ccmon_contacts_waiting_at_risk", "Contacts waiting that make a tile at risk.", "waiting"),
    (
        "ccmon_oldest_waiting_at_risk_seconds",
        "Oldest wait that makes a tile at risk.",
        "oldest_waiting",
    ),
    ("ccmon_abandon_ratio_at_risk", "Abandon ratio that makes a tile at risk.", "abandon"),
    ("ccmon_blocking_ratio_at_risk", "Blocking ratio that makes a tile at risk.", "blocking"),
)
BACKLOG = (
    Family("ccmon_tickets_open_limit", "gauge", "Open tickets that breach a ticket tile."),
    Family("ccmon_tickets_open_at_risk", "gauge", "Open tickets that make a ticket tile at risk."),
)

INFO = Family(
    "ccmon_queue_info",
    "gauge",
    "Queue configuration: the service-level profile, comparison, time zone, calendar, version.",
)
FAMILIES = (
    *(Family(name, "gauge", doc) for name, doc, _ in TARGETS),
    *(Family(name, "gauge", doc) for name, doc, _ in AT_RISK),
    *BACKLOG,
    INFO,
)


@functools.lru_cache(maxsize=4096)
def _levels(policy: QueuePolicy) -> dict[str, Level]:
    return thresholds.levels(policy)


def lines(view: QueueView, out: dict[str, list[str]]) -> None:
    labels = pair_labels(view.channel, view.queue)
    p = view.policy
    for name, _, get in TARGETS:
        if name.startswith("ccmon_ticket_") == (view.channel == "ticket"):
            out.setdefault(name, []).append(line(name, labels, float(get(p))))
    levels = _levels(p)
    if view.channel != "ticket":
        for name, _, kpi in AT_RISK:
            out.setdefault(name, []).append(line(name, labels, levels[kpi].at_risk))
    elif (backlog := levels.get("backlog")) is not None:
        limit, at_risk = BACKLOG
        out.setdefault(limit.name, []).append(line(limit.name, labels, backlog.breached))
        out.setdefault(at_risk.name, []).append(line(at_risk.name, labels, backlog.at_risk))
    info = (
        f'{labels},profile="{escape(p.profile)}",comparison="{escape(p.comparison)}",'
        f'timezone="{escape(p.timezone)}",calendar="{escape(p.calendar)}",'
        f'version="{p.version}"'
    )
    out.setdefault(INFO.name, []).append(line(INFO.name, info, 1.0))
