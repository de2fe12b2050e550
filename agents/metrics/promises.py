"""Business hours, ticket promises and compliance: whether a queue is open, promises at risk,
met and breached, days met out of days open this month (docs/metrics.md, "Business hours",
"Ticket promises" and "Closed records").

``ccmon_tickets_breached_total`` and ``ccmon_ticket_promises_met_total`` count each promise
once, at its first judgement: a breach when its deadline passes (or when a late reply shows
it), a met promise at the reply or resolution that kept it. Counters never go down, so a
reply that arrives after its promise was counted breached, stamped before the deadline,
leaves the breach counted here; the closed records (docs/metrics.md, "Closed records") are
revised instead, and are the exact account."""

from __future__ import annotations

from ccmon.agents.domain.promises import BREACHED, CODES, MET, PROMISES
from ccmon.agents.metrics.text import Family, line, pair_labels
from ccmon.agents.readmodel.views import QueueView

OPEN = Family(
    "ccmon_queue_open", "gauge", "1 within the queue's business hours (its calendar), else 0."
)
AT_RISK = Family(
    "ccmon_tickets_at_risk",
    "gauge",
    "Ticket promises running with at most the queue's at_risk_seconds of business time left.",
)
BREACHED_TOTAL = Family(
    "ccmon_tickets_breached_total",
    "counter",
    "Ticket promises breached: counted once, when the business-time deadline passed.",
)
MET_TOTAL = Family(
    "ccmon_ticket_promises_met_total",
    "counter",
    "Ticket promises kept: a reply or resolution within the promise, in business time.",
)
DAYS_OPEN = Family(
    "ccmon_compliance_days_open",
    "gauge",
    "Days of this local month closed so far with business hours (from the day records).",
)
DAYS_MET = Family(
    "ccmon_compliance_days_met",
    "gauge",
    "Of them, days none of the queue's promises was missed (service level, ticket promises).",
)
FAMILIES = (OPEN, AT_RISK, BREACHED_TOTAL, MET_TOTAL, DAYS_OPEN, DAYS_MET)


def lines(view: QueueView, out: dict[str, list[str]]) -> None:
    labels = pair_labels(view.channel, view.queue)
    out.setdefault(OPEN.name, []).append(line(OPEN.name, labels, 1.0 if view.is_open else 0.0))
    if view.month_days is not None:
        opened, met = view.month_days
        out.setdefault(DAYS_OPEN.name, []).append(line(DAYS_OPEN.name, labels, float(opened)))
        out.setdefault(DAYS_MET.name, []).append(line(DAYS_MET.name, labels, float(met)))
    if view.channel != "ticket":
        return
    totals = view.totals
    for promise in PROMISES:
        each = f'{labels},promise="{promise}"'
        out.setdefault(AT_RISK.name, []).append(
            line(AT_RISK.name, each, float(view.tickets_at_risk.get(promise, 0)))
        )
        # Once non-zero, like the other counters of rare outcomes (series budget).
        for family, prefix in ((BREACHED_TOTAL, BREACHED), (MET_TOTAL, MET)):
            value = float(totals.get(prefix + CODES[promise], 0.0))
            if value:
                out.setdefault(family.name, []).append(line(family.name, each, value))
