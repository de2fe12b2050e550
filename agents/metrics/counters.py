"""Cumulative counters and histograms of each channel x queue, from its totals.

They live in Redis with the rest of the state, so they survive restarts and move with their
partition: the worker that owns a channel x queue exports it, ``sum by (channel, queue)``
is right. Secondary counters and the full histogram ladders are opt-in
(``CCMON_EXPORT_DETAIL``); by default a histogram has buckets only at the configured
thresholds and targets, the ones service-level questions are asked at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import HANDLE, TICKET_FRT, TICKET_RESOLUTION, WAIT
from ccmon.agents.domain.servicelevel import queue_parts
from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.text import Family, line, pair_labels
from ccmon.agents.readmodel.views import QueueView

QUEUED = frozenset({"call", "chat"})
CONTACTS, TICKETS, ALL = QUEUED, frozenset({"ticket"}), frozenset({"call", "chat", "ticket"})

# name (without _total), help, totals field, channels, only with CCMON_EXPORT_DETAIL,
# only once non-zero (a rare outcome need not be an always-zero series on every pair)
COUNTERS: tuple[tuple[str, str, str, frozenset[str], bool, bool], ...] = (
    ("ccmon_contacts_offered", "Contacts that entered a queue.", b.OFFERED, CONTACTS, False, False),
    (
        "ccmon_contacts_offered_closed",
        "Contacts offered while the queue was closed (its calendar); left out of its service "
        "level unless reporting.closed_in_service_level.",
        b.OFFERED_CLOSED,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_contacts_answered",
        "Contacts answered by an agent.",
        b.ANSWERED,
        CONTACTS,
        False,
        False,
    ),
    (
        "ccmon_contacts_answered_within_threshold",
        "Answered contacts whose wait met the queue's service-level threshold.",
        b.ANSWERED_WITHIN,
        CONTACTS,
        True,
        False,
    ),
    (
        "ccmon_contacts_abandoned",
        "Contacts abandoned while waiting.",
        b.ABANDONED,
        CONTACTS,
        False,
        False,
    ),
    (
        "ccmon_contacts_abandoned_short",
        "Abandons shorter than the queue's short-abandon time (a subset of abandoned).",
        b.ABANDONED_SHORT,
        CONTACTS,
        True,
        False,
    ),
    (
        "ccmon_contacts_abandoned_within_threshold",
        "Abandons whose wait met the service-level threshold (Amazon Connect style SL).",
        b.ABANDONED_WITHIN,
        CONTACTS,
        True,
        False,
    ),
    (
        "ccmon_contacts_ended",
        "Handled contacts that ended (talk, hold, wrap known).",
        b.ENDED,
        CONTACTS,
        False,
        False,
    ),
    (
        "ccmon_contacts_resolved_first_contact",
        "Contacts or tickets resolved at the first contact.",
        b.FCR,
        ALL,
        False,
        True,
    ),
    (
        "ccmon_contacts_expired",
        "Waiting contacts with no outcome after the queue's max wait, dropped from waiting.",
        b.EXPIRED,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_contacts_wait_unknown",
        "Answered/abandoned contacts whose wait could not be known (no wait_seconds, offer "
        "not seen); they count as not within threshold.",
        b.WAIT_UNKNOWN,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_first_responses",
        "First agent responses (chats and tickets).",
        b.FR_N,
        frozenset({"chat", "ticket"}),
        False,
        False,
    ),
    # Queue exits besides answer and abandon (docs/metrics.md, "Queue exits"): rare on most
    # queues, so exported once non-zero.
    (
        "ccmon_contacts_callbacks_requested",
        "Contacts that left the queue asking to be called back (not abandons).",
        b.CALLBACKS,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_callbacks_placed",
        "Requested callbacks placed (each a contact of its own).",
        b.CALLBACKS_PLACED,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_callback_promises_met",
        "Callbacks placed within their promised window.",
        b.CALLBACKS_MET,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_callback_promises_missed",
        "Callbacks placed after their promised window, or not placed when it ran out.",
        b.CALLBACKS_MISSED,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_contacts_transferred",
        "Answered contacts transferred to another queue (counted there as offered).",
        b.TRANSFERRED,
        CONTACTS,
        False,
        True,
    ),
    (
        "ccmon_contacts_abandoned_on_hold",
        "Answered contacts that hung up while on hold (not queue abandons).",
        b.ABANDONED_ON_HOLD,
        CONTACTS,
        False,
        True,
    ),
    ("ccmon_tickets_created", "Tickets created.", b.T_CREATED, TICKETS, False, False),
    ("ccmon_tickets_resolved", "Tickets resolved.", b.T_RESOLVED, TICKETS, False, False),
    ("ccmon_tickets_reopened", "Tickets reopened.", b.T_REOPENED, TICKETS, False, True),
)
SERVICE_LEVEL = (
    (
        "ccmon_service_level_good",
        "Contacts that met the service level, per profile (the queue's own: ccmon_queue_info).",
    ),
    (
        "ccmon_service_level_eligible",
        "Contacts the service level is computed over, per profile.",
    ),
)
SURVEYS = (("csat", b.CSAT_N), ("nps", b.NPS_N), ("ces", b.CES_N))
# Counters with one label read from the totals' field prefix: family, label, prefix.
LABELLED = (
    ("ccmon_contacts_blocked_total", "reason", b.BLOCKED_BY),
    ("ccmon_contacts_flowed_out_total", "destination", b.FLOWED_TO),
    ("ccmon_contact_exits_irregular_total", "rule", b.IRREGULAR),
)
HANDLE_SUM = "ccmon_contacts_handle_seconds"

# name, help, histogram, channels; ccmon_contact_handle_seconds only with the detail
HISTOGRAMS: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("ccmon_contact_wait_seconds", "Wait of answered contacts (event time).", WAIT, CONTACTS),
    ("ccmon_contact_handle_seconds", "Handle time: talk + hold + wrap-up.", HANDLE, CONTACTS),
    (
        "ccmon_ticket_first_response_seconds",
        "Ticket creation to first response.",
        TICKET_FRT,
        TICKETS,
    ),
    (
        "ccmon_ticket_resolution_seconds",
        "Ticket creation to resolution.",
        TICKET_RESOLUTION,
        TICKETS,
    ),
)


def families(budget: Budget) -> list[Family]:
    out = [
        Family(f"{name}_total", "counter", doc)
        for name, doc, _, _, detail, _ in COUNTERS
        if budget.detail or not detail
    ]
    out += [Family(f"{name}_total", "counter", doc) for name, doc in SERVICE_LEVEL]
    out += [
        Family(
            "ccmon_contacts_blocked_total",
            "counter",
            "Contacts refused a place in the queue, by reason.",
        ),
        Family(
            "ccmon_survey_responses_total", "counter", "Survey answers received, by survey kind."
        ),
        Family(
            "ccmon_contacts_flowed_out_total",
            "counter",
            "Contacts routed out of the queue before an answer, by destination (queue: "
            "offered to the target queue; voicemail; site).",
        ),
        Family(
            "ccmon_contact_exits_irregular_total",
            "counter",
            "Exits that did not fit a contact's lifecycle, by rule (not_offered, repeated: "
            "not counted again, unknown_target: offered nowhere); docs/events.md.",
        ),
    ]
    if not budget.detail:
        out.append(
            Family(f"{HANDLE_SUM}_total", "counter", "Handle time summed (AHT = this / ended).")
        )
    out += [
        Family(name, "histogram", doc)
        for name, doc, hist, _ in HISTOGRAMS
        if budget.detail or hist != HANDLE
    ]
    return out


def histogram_buckets(
    totals: Mapping[str, Any], name: str, bounds: list[float]
) -> tuple[list[tuple[str, float]], float, float]:
    """Cumulative buckets over ``bounds`` from the stored per-bound counts; sum; count."""
    prefix = f"h:{name}:"
    stored: list[tuple[float, float]] = []
    for key, value in totals.items():
        if key.startswith(prefix):
            label = key[len(prefix) :]
            if label != "sum":
                stored.append((float("inf") if label == "+Inf" else float(label), value))
    out = [(repr(bound), sum(n for at, n in stored if at <= bound)) for bound in bounds]
    count = sum(n for _, n in stored)
    out.append(("+Inf", count))
    return out, float(totals.get(prefix + "sum", 0.0)), count


def lines(
    view: QueueView, budget: Budget, bounds: Mapping[str, list[float]], out: dict[str, list[str]]
) -> None:
    labels = pair_labels(view.channel, view.queue)
    totals = view.totals
    channel = view.channel
    for name, _, field, channels, detail, when_present in COUNTERS:
        if channel not in channels or (detail and not budget.detail):
            continue
        value = float(totals.get(field, 0.0))
        if when_present and not value:
            continue
        out.setdefault(f"{name}_total", []).append(line(f"{name}_total", labels, value))
    if channel in CONTACTS:
        for profile in view.policy.profiles:
            sl = f'{labels},profile="{profile}"'
            parts = queue_parts(totals, view.policy, profile)
            for (name, _), value in zip(SERVICE_LEVEL, parts, strict=True):
                out.setdefault(f"{name}_total", []).append(line(f"{name}_total", sl, value))
        if not budget.detail:
            value = float(totals.get(f"h:{HANDLE}:sum", 0.0))
            out.setdefault(f"{HANDLE_SUM}_total", []).append(
                line(f"{HANDLE_SUM}_total", labels, value)
            )
    for key, value in totals.items():
        if ":" not in key:
            continue
        for family, label, prefix in LABELLED:
            if key.startswith(prefix):
                named = f'{labels},{label}="{key[len(prefix) :]}"'
                out.setdefault(family, []).append(line(family, named, value))
    for survey, field in SURVEYS:
        if field in totals:
            out.setdefault("ccmon_survey_responses_total", []).append(
                line("ccmon_survey_responses_total", f'{labels},survey="{survey}"', totals[field])
            )
    for name, _, hist, channels in HISTOGRAMS:
        if channel not in channels or (hist == HANDLE and not budget.detail):
            continue
        if not any(k.startswith(f"h:{hist}:") for k in totals):
            continue
        cumulative, total, count = histogram_buckets(totals, hist, bounds.get(hist, []))
        rows = out.setdefault(name, [])
        rows += [line(f"{name}_bucket", f'{labels},le="{le}"', n) for le, n in cumulative]
        rows.append(line(f"{name}_count", labels, count))
        rows.append(line(f"{name}_sum", labels, total))
