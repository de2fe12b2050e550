"""Live gauges: contacts waiting now, the oldest one, callbacks waiting, open and overdue
tickets.

The oldest waiting contact is exported as the timestamp it started waiting, so its age
(``time() - metric``) stays right between scrapes and whatever the scrape interval."""

from __future__ import annotations

from ccmon.agents.domain import buckets as b
from ccmon.agents.metrics.text import Family, line, pair_labels
from ccmon.agents.readmodel.views import QueueView

FAMILIES = (
    Family(
        "ccmon_contacts_waiting", "gauge", "Contacts offered and not yet answered or abandoned."
    ),
    Family(
        "ccmon_oldest_waiting_since_timestamp_seconds",
        "gauge",
        "Event time at which the longest-waiting contact entered the queue.",
    ),
    Family(
        "ccmon_callbacks_waiting",
        "gauge",
        "Requested callbacks not placed yet (once the queue has had a callback request).",
    ),
    Family("ccmon_tickets_open", "gauge", "Ticket backlog: created + reopened - resolved."),
    Family(
        "ccmon_tickets_overdue",
        "gauge",
        "Open tickets past their resolution promise (business time, paused while pending).",
    ),
    Family(
        "ccmon_oldest_open_ticket_since_timestamp_seconds",
        "gauge",
        "Creation time of the oldest open ticket.",
    ),
)


def lines(view: QueueView, out: dict[str, list[str]]) -> None:
    labels = pair_labels(view.channel, view.queue)

    def put(name: str, value: float) -> None:
        out.setdefault(name, []).append(line(name, labels, value))

    if view.channel == "ticket":
        put("ccmon_tickets_open", view.tickets_open)
        put("ccmon_tickets_overdue", view.tickets_overdue)
        if view.oldest_open_ticket_since is not None:
            put("ccmon_oldest_open_ticket_since_timestamp_seconds", view.oldest_open_ticket_since)
    else:
        put("ccmon_contacts_waiting", view.waiting)
        if view.oldest_waiting_since is not None:
            put("ccmon_oldest_waiting_since_timestamp_seconds", view.oldest_waiting_since)
        if view.callbacks_waiting or view.totals.get(b.CALLBACKS):
            put("ccmon_callbacks_waiting", view.callbacks_waiting)
