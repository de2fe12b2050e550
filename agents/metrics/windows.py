"""Event-time windowed gauges, computed at scrape time from the minute and day buckets.

These are the numbers ``increase()`` over scrape time cannot give: a late event lands in
the minute it happened, and ``today`` resets at the queue's local midnight. A ratio whose
denominator is empty is not exported: no series rather than a made-up 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from ccmon.agents import buckets as b
from ccmon.agents.metrics.counters import applies
from ccmon.agents.metrics.source import ViewCollector
from ccmon.agents.readmodel import QueueView

LABELS = ["channel", "queue", "window"]

# metric name, help, kpi key (see agents.buckets.kpis)
RATIOS: tuple[tuple[str, str, str], ...] = (
    (
        "ccmon_service_level_ratio",
        "Service level in the window with the queue's variant (see ccmon_queue_info).",
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

# Windowed counts. Named ccmon_window_* because ccmon_contacts_offered is already the
# counter family (ccmon_contacts_offered_total); OpenMetrics forbids two families of one name.
COUNTS: tuple[tuple[str, str, str], ...] = (
    ("ccmon_window_contacts_offered", "Contacts offered in the window.", b.OFFERED),
    ("ccmon_window_contacts_answered", "Contacts answered in the window.", b.ANSWERED),
    (
        "ccmon_window_contacts_answered_within_threshold",
        "Contacts answered within threshold in the window.",
        b.ANSWERED_WITHIN,
    ),
    ("ccmon_window_contacts_abandoned", "Contacts abandoned in the window.", b.ABANDONED),
    (
        "ccmon_window_contacts_abandoned_short",
        "Short abandons in the window.",
        b.ABANDONED_SHORT,
    ),
    ("ccmon_window_contacts_blocked", "Contacts blocked in the window.", b.BLOCKED),
    ("ccmon_window_tickets_created", "Tickets created in the window.", b.T_CREATED),
    ("ccmon_window_tickets_resolved", "Tickets resolved in the window.", b.T_RESOLVED),
)


class WindowsCollector(ViewCollector):
    def families(self, views: Sequence[QueueView]) -> Iterator[Metric]:
        ratios = {name: GaugeMetricFamily(name, doc, labels=LABELS) for name, doc, _ in RATIOS}
        counts = {name: GaugeMetricFamily(name, doc, labels=LABELS) for name, doc, _ in COUNTS}
        for v in views:
            for window in b.WINDOWS:
                counters = v.windows.get(window, {})
                labels = [v.channel, v.queue, window]
                values = b.kpis(counters, v.policy.variant)
                for name, _, kpi in RATIOS:
                    value = values[kpi]
                    if value is not None:
                        ratios[name].add_metric(labels, value)
                for name, _, field in COUNTS:
                    if applies(name, v.channel):
                        counts[name].add_metric(labels, counters.get(field, 0.0))
        yield from ratios.values()
        yield from counts.values()
