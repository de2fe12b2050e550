"""The wall server's own /metrics: a frozen wall on a TV is the failure nobody notices, so the
server says how it is doing (docs/wall.md, "Watching the wall"; the alerts
CcmonWallDataStale, CcmonWallNoScreens and CcmonWallDown in alerts/ccmon.rules.yml).

Computed at scrape time from what the feed, the alert watcher and the routes count, as
client_python's own collectors do: nothing here runs between scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from ccmon import __version__
from ccmon.agents.wall.alerts import AlertWatcher
from ccmon.agents.wall.feed import Feed


@dataclass
class Screens:
    """What the routes count: screens connected to the feed now, messages sent to them."""

    connected: int = 0
    messages: int = 0


class WallCollector(Collector):
    def __init__(
        self,
        feed: Feed,
        alerts: AlertWatcher | None,
        screens: Screens,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.feed = feed
        self.alerts = alerts
        self.screens = screens
        self.clock = clock
        self.started = clock()

    def read_model_age(self) -> float:
        """Seconds since the newest publication the wall has read (since its start, when
        it has read none): what "no fresh data" is judged by, whatever the cause (workers
        stopped, Redis unreachable, notifications lost)."""
        newest = max((e.published_at for e in self.feed.entries.values()), default=None)
        return max(0.0, self.clock() - (self.started if newest is None else newest))

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily]:
        yield GaugeMetricFamily(
            "ccmon_wall_screens", "Screens connected to the feed now.", self.screens.connected
        )
        yield CounterMetricFamily(
            "ccmon_wall_feed_messages",
            "Messages sent to the screens' feeds.",
            self.screens.messages,
        )
        yield GaugeMetricFamily(
            "ccmon_wall_read_model_age_seconds",
            "Seconds since the newest read-model publication the wall has read.",
            self.read_model_age(),
        )
        yield GaugeMetricFamily(
            "ccmon_wall_read_model_up",
            "1 while the wall's last read of the Redis read model succeeded.",
            1.0 if self.feed.source_ok else 0.0,
        )
        yield GaugeMetricFamily(
            "ccmon_wall_queues", "Channel x queue pairs the wall knows.", len(self.feed.entries)
        )
        yield CounterMetricFamily(
            "ccmon_wall_redis_errors",
            "Failed reads of the read model and lost notification subscriptions.",
            self.feed.redis_errors,
        )
        yield CounterMetricFamily(
            "ccmon_wall_alertmanager_errors",
            "Failed polls of Alertmanager for the alert banner.",
            0 if self.alerts is None else self.alerts.errors,
        )
        yield InfoMetricFamily("ccmon_wall", "The wall server.", {"version": __version__})


def registry(collector: WallCollector) -> CollectorRegistry:
    """The wall's registry: its own numbers and the process's (CPU, memory, files)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(collector)
    ProcessCollector(registry=found)
    PlatformCollector(registry=found)
    return found
