"""Live gauges: contacts waiting now, the oldest one, open and overdue tickets.

The oldest waiting contact is exported as the timestamp it started waiting, so its age
(``time() - metric``) stays right between scrapes and whatever the scrape interval."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from ccmon.agents.metrics.source import ViewCollector
from ccmon.agents.readmodel import QueueView

LABELS = ["channel", "queue"]


class LiveCollector(ViewCollector):
    def families(self, views: Sequence[QueueView]) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "ccmon_contacts_waiting",
            "Contacts offered and not yet answered or abandoned.",
            labels=LABELS,
        )
        oldest = GaugeMetricFamily(
            "ccmon_oldest_waiting_since_timestamp_seconds",
            "Event time at which the longest-waiting contact entered the queue.",
            labels=LABELS,
        )
        tickets_open = GaugeMetricFamily(
            "ccmon_tickets_open", "Ticket backlog: created + reopened - resolved.", labels=LABELS
        )
        overdue = GaugeMetricFamily(
            "ccmon_tickets_overdue",
            "Open tickets older than the queue's resolution target.",
            labels=LABELS,
        )
        oldest_ticket = GaugeMetricFamily(
            "ccmon_oldest_open_ticket_since_timestamp_seconds",
            "Creation time of the oldest open ticket.",
            labels=LABELS,
        )
        for v in views:
            labels = [v.channel, v.queue]
            if v.channel == "ticket":
                tickets_open.add_metric(labels, v.tickets_open)
                overdue.add_metric(labels, v.tickets_overdue)
                if v.oldest_open_ticket_since is not None:
                    oldest_ticket.add_metric(labels, v.oldest_open_ticket_since)
            else:
                waiting.add_metric(labels, v.waiting)
                if v.oldest_waiting_since is not None:
                    oldest.add_metric(labels, v.oldest_waiting_since)
        yield from (waiting, oldest, tickets_open, overdue, oldest_ticket)
