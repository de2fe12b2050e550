"""Event-time windowed numbers, from the 1-minute and day buckets of each channel x queue.

These are the numbers ``increase()`` over scrape time cannot give: a late event lands in
the minute it happened, and ``today`` resets at the queue's local midnight. By default the
windowed *counts* are exported (numerators and denominators: recording rules derive the
ratios exactly) for the windows of ``CCMON_WINDOWS``; the ratio gauges themselves are opt-in
(``CCMON_EXPORT_RATIOS``). A ratio with an empty denominator is never exported: no series
rather than a made-up 0 or 1."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.servicelevel import queue_parts
from ccmon.agents.metrics.budget import WINDOW_COUNTS_TODAY, Budget
from ccmon.agents.metrics.counters import CONTACTS, TICKETS
from ccmon.agents.metrics.text import Family, line, pair_labels
from ccmon.agents.readmodel.views import QueueView

Counters = Mapping[str, float]

# metric name, help, kpi key (see ccmon.agents.domain.buckets.kpis)
RATIOS: tuple[tuple[str, str, str], ...] = (
    (
        "ccmon_service_level_ratio",
        "Service level in the window with the queue's profile (see ccmon_queue_info).",
        "service_level",
    ),
    ("ccmon_answer_wait_average_seconds", "ASA: mean wait of answered contacts.", "asa"),
    ("ccmon_abandon_ratio", "Abandoned / offered.", "abandon"),
    (
        "ccmon_blocking_ratio",
        "Blocked / (offered + blocked): Erlang-B grade of service.",
        "blocking",
    ),
    ("ccmon_handle_time_average_seconds", "AHT: mean talk + hold + wrap-up.", "aht"),
    ("ccmon_first_contact_resolution_ratio", "Share resolved at first contact.", "fcr"),
    ("ccmon_csat_ratio", "CSAT: share of 4-5 answers on a 1-5 scale.", "csat"),
    ("ccmon_nps_score", "NPS: % promoters (9-10) minus % detractors (0-6).", "nps"),
    ("ccmon_ces_average", "CES: mean customer effort score (1-7).", "ces"),
    (
        "ccmon_first_response_average_seconds",
        "Mean first-response time (chats and tickets) where known.",
        "first_response",
    ),
    ("ccmon_ticket_resolution_average_seconds", "Mean ticket resolution time.", "resolution"),
)


def _field(name: str) -> Callable[[Counters], float]:
    return lambda c: c.get(name, 0.0)


# Per profile: good and eligible, the two counts the service level is the ratio of.
SERVICE_LEVEL: tuple[tuple[str, str, str, int], ...] = (
    (
        "service_level_good",
        "ccmon_window_service_level_good",
        "Contacts that met the service level in the window, per profile.",
        0,
    ),
    (
        "service_level_eligible",
        "ccmon_window_service_level_eligible",
        "Contacts the window's service level is computed over, per profile.",
        1,
    ),
)


# Windowed counts. Named ccmon_window_* because ccmon_contacts_offered is already the
# counter family (ccmon_contacts_offered_total); OpenMetrics forbids two families of one
# name. (short name, metric name, help, value, channels, only with CCMON_EXPORT_DETAIL)
COUNTS: tuple[tuple[str, str, str, Callable[[Counters], float], frozenset[str], bool], ...] = (
    (
        "offered",
        "ccmon_window_contacts_offered",
        "Contacts offered in the window.",
        _field(b.OFFERED),
        CONTACTS,
        False,
    ),
    (
        "answered",
        "ccmon_window_contacts_answered",
        "Contacts answered in the window.",
        _field(b.ANSWERED),
        CONTACTS,
        True,
    ),
    (
        "answered_within",
        "ccmon_window_contacts_answered_within_threshold",
        "Contacts answered within threshold in the window.",
        _field(b.ANSWERED_WITHIN),
        CONTACTS,
        True,
    ),
    (
        "abandoned",
        "ccmon_window_contacts_abandoned",
        "Contacts abandoned in the window.",
        _field(b.ABANDONED),
        CONTACTS,
        False,
    ),
    (
        "abandoned_short",
        "ccmon_window_contacts_abandoned_short",
        "Short abandons in the window.",
        _field(b.ABANDONED_SHORT),
        CONTACTS,
        True,
    ),
    (
        "blocked",
        "ccmon_window_contacts_blocked",
        "Contacts blocked in the window.",
        _field(b.BLOCKED),
        CONTACTS,
        False,
    ),
    (
        "wait_sum",
        "ccmon_window_answer_wait_seconds",
        "Waits of answered contacts summed in the window (ASA = this / wait known).",
        _field(b.WAIT_SUM),
        CONTACTS,
        True,
    ),
    (
        "wait_n",
        "ccmon_window_contacts_wait_known",
        "Answered contacts whose wait is known, in the window.",
        _field(b.WAIT_N),
        CONTACTS,
        True,
    ),
    (
        "tickets_created",
        "ccmon_window_tickets_created",
        "Tickets created in the window.",
        _field(b.T_CREATED),
        TICKETS,
        False,
    ),
    (
        "tickets_resolved",
        "ccmon_window_tickets_resolved",
        "Tickets resolved in the window.",
        _field(b.T_RESOLVED),
        TICKETS,
        False,
    ),
)
TODAY_TICKETS = ("tickets_created", "tickets_resolved")


def _exported(short: str, window: str, detail: bool) -> bool:
    """``today`` needs only what the day's totals on a wall screen show; other windows get
    every default count (the alerts and dashboards read 30m)."""
    if detail or window != "today":
        return True
    return short in WINDOW_COUNTS_TODAY or short in TODAY_TICKETS


def families(budget: Budget) -> list[Family]:
    out = [
        Family(name, "gauge", doc)
        for _, name, doc, _, _, detail in COUNTS
        if budget.detail or not detail
    ]
    out += [Family(name, "gauge", doc) for _, name, doc, _ in SERVICE_LEVEL]
    if budget.ratios:
        out += [Family(name, "gauge", doc) for name, doc, _ in RATIOS]
    return out


def lines(view: QueueView, budget: Budget, out: dict[str, list[str]]) -> None:
    base = pair_labels(view.channel, view.queue)
    policy = view.policy
    for window in budget.windows:
        counters = view.windows.get(window, {})
        labels = f'{base},window="{window}"'
        for short, name, _, value, channels, detail in COUNTS:
            if view.channel not in channels or (detail and not budget.detail):
                continue
            if _exported(short, window, budget.detail):
                out.setdefault(name, []).append(line(name, labels, value(counters)))
        if view.channel in CONTACTS:
            # Without what was offered while closed, by default (queue_parts).
            for profile in policy.profiles:
                parts = queue_parts(counters, policy, profile)
                for _, name, _, i in SERVICE_LEVEL:
                    row = line(name, f'{labels},profile="{profile}"', parts[i])
                    out.setdefault(name, []).append(row)
        if budget.ratios:
            kpis = b.kpis(counters, queue_parts(counters, policy))
            for name, _, kpi in RATIOS:
                if (ratio := kpis[kpi]) is not None:
                    out.setdefault(name, []).append(line(name, labels, ratio))
