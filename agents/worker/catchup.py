"""Catch-up mode: a worker far behind its topics (a backlog after an outage or a deploy, a
replay, a first start on a full topic) gives the event loop to counting first.

Behind by ``CCMON_CATCH_UP_LAG_RECORDS`` records or more (summed over the partitions it is
assigned, as ``ccmon_consumer_lag`` reads them), a worker catches up until it is behind by
less than half that (the gap keeps it from flapping at the edge). Meanwhile:

- the staffing forecasts get a quarter of their share of the CPU budget, and none is
  computed inside a read-model build: the queues' counts are minutes old anyway, and a
  forecast of them is no use to anyone until they are current;
- the wall's documents are published every ``FULL_PUBLICATION_SECONDS`` (2 s, within the
  wall's 3 s before a tile reads "delayed", and at most half their TTL), with no
  publications of changes in between: each one rebuilt the read model and the documents
  of every queue the backlog touched (all of them), which took a sixth of the event loop
  from counting at one a second (py-spy of a 200,000-event drain).

/metrics is served as always. ``ccmon_worker_catching_up`` says when a worker is in this
mode, and the log says when it enters and leaves it (docs/operations.md, "Backlogs").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import Gauge

from ccmon.agents.domain.forecast import INLINE_BUDGET_SECONDS

log = logging.getLogger(__name__)

# The share of its forecast budget a worker that catches up spends.
FORECAST_SHARE = 0.25
# How often a worker that catches up publishes every document (ccmon.agents.worker.snapshot).
FULL_PUBLICATION_SECONDS = 2.0


class CatchUpMode:
    """Whether the worker is catching up, decided from its lag at each :meth:`check`."""

    def __init__(self, lag_records: int, lag: Callable[[], int | None], gauge: Gauge) -> None:
        """``lag_records``: where the mode begins (0: never); ``lag``: the records this
        worker has not processed and committed yet (None: not known yet)."""
        self.enter_at = lag_records
        self.leave_below = lag_records // 2
        self.lag = lag
        self.gauge = gauge
        self.active = False
        gauge.set(0)

    def check(self) -> bool:
        if self.enter_at <= 0:
            return False
        behind = self.lag()
        if behind is None:  # the fetcher has not seen the high-water marks yet
            return self.active
        if not self.active and behind >= self.enter_at:
            self.active = True
            log.info(
                "catching up: %d records behind; forecasts slowed and the wall's documents "
                "published every 2 s until fewer than %d are left",
                behind,
                self.leave_below,
            )
        elif self.active and behind < self.leave_below:
            self.active = False
            log.info("caught up: %d records behind", behind)
        self.gauge.set(1 if self.active else 0)
        return self.active

    def forecast_share(self) -> float:
        """The share of its forecast budget the worker spends now."""
        return FORECAST_SHARE if self.active else 1.0

    def inline_forecasts(self) -> float:
        """Seconds of forecasts a read-model build may compute itself now."""
        return 0.0 if self.active else INLINE_BUDGET_SECONDS


def full_publication_seconds(interval: float, ttl: float, catching_up: bool) -> float:
    """How long until the next publication of every document: the snapshot interval, or
    while catching up ``FULL_PUBLICATION_SECONDS`` (never more often than the interval,
    never longer than half the documents' TTL: they must not expire in between)."""
    if not catching_up:
        return interval
    return max(interval, min(FULL_PUBLICATION_SECONDS, ttl / 2))
