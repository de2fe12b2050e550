"""What a channel x queue is counted with: :class:`QueuePolicy`, resolved once per queue when
the configuration is loaded (:mod:`ccmon.streams.config` reads the file), and
:class:`QueueConfig`, the policies of every queue. ``QueueConfig.policy`` is called for every
event, so it is a dictionary lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from ccmon.streams.calendar import ALWAYS, BusinessHours

ALWAYS_OPEN = "always"  # the calendar of a queue that has none
Channel = Literal["call", "chat", "ticket"]
Comparison = Literal["<", "<="]
IntervalMinutes = Literal[15, 30]  # reporting intervals
# Service-level profiles (docs/metrics.md, "Service-level profiles"; computed by
# ccmon.agents.domain.servicelevel from the same counters).
Profile = Literal[
    "answered",  # answered<=T / answered: Asterisk
    "answered_abandoned",  # answered<=T / (answered + abandoned): Genesys, Talkdesk
    "all_exits",  # left the queue <=T / left (answered, abandoned, callback): Amazon Connect
]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
COMPARISONS: tuple[str, ...] = get_args(Comparison)
PROFILES: tuple[str, ...] = get_args(Profile)
OVERFLOW_QUEUE = "other"  # where queues beyond max_queues are counted; not configurable
DEFAULT_MAX_QUEUES = 500
# Contacts one agent serves at once (docs/configuration.md, "Concurrency"): vendors allow up
# to 10 chats (Amazon Connect) or a few more for messaging; 20 is past any real desk and
# keeps a typo (50 for 5) from making every chat queue look overstaffed.
MAX_CONCURRENT = 20

# The names of ccmon 0.2 (`service_level.variant`), still read: what each one means now.
LegacyVariant = Literal[
    "answered_abandoned", "answered_abandoned_excl_short", "answered", "offered_within"
]
LEGACY_VARIANTS: dict[str, dict[str, Any]] = {
    "answered_abandoned": {"profile": "answered_abandoned"},
    "answered_abandoned_excl_short": {
        "profile": "answered_abandoned",
        "exclude_short_abandons": True,
    },
    "answered": {"profile": "answered"},
    # Its denominator was every contact offered; all_exits divides by the contacts that left
    # the queue, Amazon Connect's definition (the same once the queue is empty).
    "offered_within": {"profile": "all_exits"},
}


@dataclass(frozen=True)
class QueuePolicy:
    """Everything the counters, gauges and alerts need to know about one channel x queue."""

    threshold_seconds: float = 90.0
    comparison: Comparison = "<"
    target_ratio: float = 0.80
    profile: Profile = "answered_abandoned"  # the queue's own: its target, alerts, wall
    export_profiles: tuple[Profile, ...] = ()  # computed and exported beside it
    exclude_short_abandons: bool = False  # answered_abandoned: short abandons left out
    include_flow_outs: bool = False  # answered_abandoned, all_exits: flow-outs counted
    short_abandon_seconds: float = 5.0
    max_wait_seconds: float = 3600.0
    first_response_target_seconds: float = 86400.0
    next_reply_target_seconds: float = 86400.0
    resolution_target_seconds: float = 172800.0
    at_risk_seconds: float = 3600.0
    timezone: str = "UTC"
    calendar: str = ALWAYS_OPEN  # the name of the queue's business hours
    interval_minutes: IntervalMinutes = 30
    closed_in_service_level: bool = False
    min_volume: int = 10
    # Contacts an agent serves at once (slots): 1 for calls, typically 2-4 for chats. Staffing
    # and forecasts only, in no closed record: left out of the configuration version.
    max_concurrent: int = field(default=1, metadata={"shown_only": True})
    abandon_ratio: float = 0.10
    blocking_ratio: float = 0.02
    waiting_contacts: int = 10
    # What a wall shows, not what is counted: left out of the configuration version.
    backlog_limit: int | None = field(default=None, metadata={"shown_only": True})
    # Margins before each limit where a wall tile turns "at risk" (ccmon.streams.thresholds);
    # None: the built-in rule (5 points for the service level, a quarter of the limit).
    service_level_margin: float | None = field(default=None, metadata={"shown_only": True})
    waiting_margin: float | None = field(default=None, metadata={"shown_only": True})
    oldest_waiting_margin_seconds: float | None = field(default=None, metadata={"shown_only": True})
    abandon_margin: float | None = field(default=None, metadata={"shown_only": True})
    blocking_margin: float | None = field(default=None, metadata={"shown_only": True})
    backlog_margin: float | None = field(default=None, metadata={"shown_only": True})
    # Resolved at load time from ``calendar`` and ``timezone``; never a key of a block.
    hours: BusinessHours = field(default=ALWAYS, compare=False)

    def within(self, wait_seconds: float) -> bool:
        """Whether a wait meets the service-level threshold, honouring `<` versus `<=`."""
        if self.comparison == "<=":
            return wait_seconds <= self.threshold_seconds
        return wait_seconds < self.threshold_seconds

    def is_short_abandon(self, wait_seconds: float) -> bool:
        return wait_seconds < self.short_abandon_seconds

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """Every profile exported for the queue, its own first."""
        return tuple(dict.fromkeys((self.profile, *self.export_profiles)))

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances per key

    @cached_property
    def version(self) -> str:
        """The configuration version of this channel x queue: a hash of every setting it is
        counted with, its business hours' days included. Closed records carry it, so a
        record says which rules it was computed under (docs/metrics.md, "Closed records")."""
        counted = [f for f in fields(self) if f.name != "hours" and "shown_only" not in f.metadata]
        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in counted]
        parts.append(f"hours={self.hours.fingerprint}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


BUILTIN_DEFAULTS = QueuePolicy()


class QueueConfig:
    """The loaded configuration; immutable after construction."""

    __slots__ = ("_channels", "_defaults", "_max_queues", "_policies", "_source")

    def __init__(
        self,
        defaults: QueuePolicy = BUILTIN_DEFAULTS,
        policies: Mapping[tuple[str, str], QueuePolicy] | None = None,
        channels: Mapping[str, frozenset[str]] | None = None,
        max_queues: int = DEFAULT_MAX_QUEUES,
        source: str | None = None,
    ) -> None:
        self._defaults = defaults
        self._policies = dict(policies or {})
        self._channels = dict(channels or {})
        self._max_queues = max_queues
        self._source = source

    def policy(self, channel: str, queue: str) -> QueuePolicy:
        """Policy of a channel x queue; unconfigured queues (and channels a queue does not
        list) get the defaults. Raises ValueError for an unknown channel (a caller bug)."""
        found = self._policies.get((channel, queue))
        if found is not None:
            return found
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
        return self._defaults

    @property
    def defaults(self) -> QueuePolicy:
        return self._defaults

    @property
    def configured_queues(self) -> frozenset[str]:
        return frozenset(self._channels)

    def channels_of(self, queue: str) -> frozenset[str]:
        """Channels a configured queue takes (all three when it lists none)."""
        return self._channels.get(queue, frozenset())

    @property
    def max_queues(self) -> int:
        return self._max_queues

    @property
    def source(self) -> str | None:
        return self._source

    def all_thresholds(self) -> set[tuple[float, str]]:
        """(threshold_seconds, comparison) of every policy, to place histogram buckets on."""
        policies = [self._defaults, *self._policies.values()]
        return {(p.threshold_seconds, p.comparison) for p in policies}
