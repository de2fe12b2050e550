"""Service-level profiles: how vendors count a queue's service level, each computed from the
same counters (docs/metrics.md, "Service-level profiles"). Pure.

With T the queue's threshold and "within" honouring its comparison:

* ``answered`` (Asterisk ``ServiceLevelPerf``): answered within T / answered;
* ``answered_abandoned`` (Genesys, Talkdesk): answered within T / (answered + abandoned),
  short abandons optionally left out, flow-outs optionally counted as exits;
* ``all_exits`` (Amazon Connect "service level X"): contacts that left the queue within T,
  answered, abandoned or callback requested (and flowed out, optionally), / all that left.

Good and eligible only grow as contacts are counted, so they are counters too, and a ratio
over any window is exact from their increases. A contact counts where it *left* the queue:
in the minute of its exit, never before it exits.
"""

from __future__ import annotations

from collections.abc import Mapping

from ccmon.agents.domain import buckets as b
from ccmon.streams.config import PROFILES, QueuePolicy

DEFAULT_PROFILE = "answered_abandoned"

__all__ = ["DEFAULT_PROFILE", "PROFILES", "all_parts", "parts", "queue_parts", "ratio"]


def parts(
    c: Mapping[str, float],
    profile: str,
    *,
    exclude_short_abandons: bool = False,
    include_flow_outs: bool = False,
) -> tuple[float, float]:
    """(good, eligible) of one profile over summed counters ``c``."""
    g = c.get
    within, answered = g(b.ANSWERED_WITHIN, 0.0), g(b.ANSWERED, 0.0)
    if profile == "answered":
        return within, answered
    flow_outs = g(b.FLOWED_OUT, 0.0) if include_flow_outs else 0.0
    abandoned = g(b.ABANDONED, 0.0)
    if profile == "answered_abandoned":
        short = g(b.ABANDONED_SHORT, 0.0) if exclude_short_abandons else 0.0
        return within, answered + abandoned - short + flow_outs
    if profile == "all_exits":
        good = within + g(b.ABANDONED_WITHIN, 0.0) + g(b.CALLBACKS_WITHIN, 0.0)
        if include_flow_outs:
            good += g(b.FLOWED_OUT_WITHIN, 0.0)
        return good, answered + abandoned + g(b.CALLBACKS, 0.0) + flow_outs
    raise ValueError(f"unknown service-level profile {profile!r}; expected one of {PROFILES}")


def queue_parts(
    c: Mapping[str, float], policy: QueuePolicy, profile: str | None = None
) -> tuple[float, float]:
    """(good, eligible) of ``profile`` (default: the queue's own) with the queue's options:
    contacts offered while the queue was closed are left out unless it keeps them in
    (``reporting.closed_in_service_level``)."""
    if not policy.closed_in_service_level:
        c = b.open_hours_only(c)
    return parts(
        c,
        policy.profile if profile is None else profile,
        exclude_short_abandons=policy.exclude_short_abandons,
        include_flow_outs=policy.include_flow_outs,
    )


def all_parts(c: Mapping[str, float], policy: QueuePolicy) -> dict[str, tuple[float, float]]:
    """Every profile, configured or not (interval and daily records keep them all), with
    the queue's options."""
    return {name: queue_parts(c, policy, name) for name in PROFILES}


def ratio(good: float, eligible: float) -> float | None:
    """The service level, or None when nothing is eligible (no series rather than 0 or 1)."""
    return good / eligible if eligible > 0 else None
