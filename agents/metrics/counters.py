"""Cumulative counters and histograms, read from the ``totals`` table at scrape time.

They live in the changelog, so they survive restarts and move with their partition: the
worker that owns a channel x queue exports it, and ``sum by (channel, queue)`` is right.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from ccmon.agents import buckets as b
from ccmon.agents.effects import HANDLE, TICKET_FRT, TICKET_RESOLUTION, WAIT
from ccmon.agents.metrics.source import ReadModelSource, ViewCollector
from ccmon.agents.readmodel import QueueView

LABELS = ["channel", "queue"]
QUEUED = frozenset({"call", "chat"})


def applies(name: str, channel: str) -> bool:
    """Contact families for calls and chats, ticket families for tickets: no always-zero
    series for lifecycles a channel does not have."""
    if "_tickets_" in name or name.startswith("ccmon_ticket_"):
        return channel == "ticket"
    if "_contacts_" in name and "resolved_first_contact" not in name:
        return channel in QUEUED
    return True


# metric name (without _total), help, totals field
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("ccmon_contacts_offered", "Contacts that entered a queue.", b.OFFERED),
    ("ccmon_contacts_answered", "Contacts answered by an agent.", b.ANSWERED),
    (
        "ccmon_contacts_answered_within_threshold",
        "Answered contacts whose wait met the queue's service-level threshold.",
        b.ANSWERED_WITHIN,
    ),
    ("ccmon_contacts_abandoned", "Contacts abandoned while waiting.", b.ABANDONED),
    (
        "ccmon_contacts_abandoned_short",
        "Abandons shorter than the queue's short-abandon time (a subset of abandoned).",
        b.ABANDONED_SHORT,
    ),
    (
        "ccmon_contacts_abandoned_within_threshold",
        "Abandons whose wait met the service-level threshold (Amazon Connect style SL).",
        b.ABANDONED_WITHIN,
    ),
    ("ccmon_contacts_ended", "Handled contacts that ended (talk, hold, wrap known).", b.ENDED),
    (
        "ccmon_contacts_resolved_first_contact",
        "Contacts or tickets resolved at the first contact.",
        b.FCR,
    ),
    (
        "ccmon_contacts_expired",
        "Waiting contacts with no outcome after the queue's max wait, dropped from waiting.",
        b.EXPIRED,
    ),
    (
        "ccmon_contacts_wait_unknown",
        "Answered/abandoned contacts whose wait could not be known (no wait_seconds, offer "
        "not seen); they count as not within threshold.",
        b.WAIT_UNKNOWN,
    ),
    ("ccmon_first_responses", "First agent responses (chats and tickets).", b.FR_N),
    ("ccmon_tickets_created", "Tickets created.", b.T_CREATED),
    ("ccmon_tickets_resolved", "Tickets resolved.", b.T_RESOLVED),
    ("ccmon_tickets_reopened", "Tickets reopened.", b.T_REOPENED),
)

SURVEYS = (("csat", b.CSAT_N), ("nps", b.NPS_N), ("ces", b.CES_N))

HISTOGRAMS: tuple[tuple[str, str, str], ...] = (
    ("ccmon_contact_wait_seconds", "Wait of answered contacts (event time).", WAIT),
    ("ccmon_contact_handle_seconds", "Handle time: talk + hold + wrap-up.", HANDLE),
    (
        "ccmon_ticket_first_response_seconds",
        "Ticket creation to first response.",
        TICKET_FRT,
    ),
    ("ccmon_ticket_resolution_seconds", "Ticket creation to resolution.", TICKET_RESOLUTION),
)


def histogram_buckets(
    totals: Mapping[str, Any], name: str, bounds: list[float]
) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets over the *current* bounds from the stored per-bound counts."""
    prefix = f"h:{name}:"
    stored: list[tuple[float, float]] = []
    for key, value in totals.items():
        if key.startswith(prefix):
            label = key[len(prefix) :]
            if label != "sum":
                stored.append((float("inf") if label == "+Inf" else float(label), value))
    out = [(repr(bound), sum(n for at, n in stored if at <= bound)) for bound in bounds]
    out.append(("+Inf", sum(n for _, n in stored)))
    return out, float(totals.get(prefix + "sum", 0.0))


class CountersCollector(ViewCollector):
    def __init__(self, source: ReadModelSource, bounds: Mapping[str, list[float]]) -> None:
        super().__init__(source)
        self.bounds = bounds

    def families(self, views: Sequence[QueueView]) -> Iterator[Metric]:
        for name, doc, field in COUNTERS:
            family = CounterMetricFamily(name, doc, labels=LABELS)
            for v in views:
                if not applies(name, v.channel):
                    continue
                family.add_metric([v.channel, v.queue], float(v.totals.get(field, 0.0)))
            yield family
        blocked = CounterMetricFamily(
            "ccmon_contacts_blocked",
            "Contacts refused a place in the queue, by reason.",
            labels=[*LABELS, "reason"],
        )
        surveys = CounterMetricFamily(
            "ccmon_survey_responses",
            "Survey answers received, by survey kind.",
            labels=[*LABELS, "survey"],
        )
        for v in views:
            for key, value in v.totals.items():
                if key.startswith(b.BLOCKED_BY):
                    blocked.add_metric([v.channel, v.queue, key[len(b.BLOCKED_BY) :]], value)
            for survey, field in SURVEYS:
                if field in v.totals:
                    surveys.add_metric([v.channel, v.queue, survey], v.totals[field])
        yield blocked
        yield surveys
        for name, doc, hist in HISTOGRAMS:
            histogram = HistogramMetricFamily(name, doc, labels=LABELS)
            for v in views:
                if not any(k.startswith(f"h:{hist}:") for k in v.totals):
                    continue
                buckets, total = histogram_buckets(v.totals, hist, self.bounds.get(hist, []))
                histogram.add_metric([v.channel, v.queue], buckets, total)
            yield histogram
