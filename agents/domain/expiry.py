"""Time-driven state changes of one partition: old buckets, closed-contact markers and
contacts waiting longer than their queue allows.

The owner runs it every ``CCMON_TICK_INTERVAL_SECONDS`` per partition, under the
partition's lock, and writes the result like a batch of events (through the fence), so
expiry and counting never interleave and a worker that lost the partition cannot expire
anything in it. Faust's window expiry is not used (it never expires recovered windows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import TOTALS, Effects
from ccmon.streams.config import QueuePolicy

PolicyFor = Callable[[str, str], QueuePolicy]


def apply_tick(fx: Effects, now: float, policy_for: PolicyFor) -> dict[str, int]:
    """Record in ``fx`` what is due in its partition; returns counts by kind for the log."""
    state, limits = fx.state, fx.limits
    cutoff_minute = b.minute_of(now) - limits.bucket_retention_minutes
    removed: Counter[str] = Counter()
    for kind, when in sorted(state.buckets()):
        if (kind == "m" and int(when) <= cutoff_minute) or (
            kind == "d" and b.day_is_expired(when, now, limits.day_retention_days)
        ):
            fx.writes.drop.append((kind, when))
            removed["buckets"] += 1

    for cq, contacts in state.live.items():
        channel, queue = cq.split("|", 1)
        expired = 0
        for contact, entry in contacts.items():
            age = now - float(entry["t"])
            what = entry.get("k")
            if what in {"w", "a"}:
                if age <= policy_for(channel, queue).max_wait_seconds:
                    continue
                expired += what == "w"
            elif what in {"x", "ago"}:  # "ago": an agent that left the queue (staffing)
                if age <= limits.closed_marker_seconds:
                    continue
            elif what == "tc":
                if age <= limits.closed_ticket_marker_seconds:
                    continue
            else:
                continue
            fx.delete(cq, contact)
            removed["live"] += 1
        if expired:
            fx.add(TOTALS, cq, {b.EXPIRED: expired})
            removed["expired_waiting"] += expired
    return dict(removed)
