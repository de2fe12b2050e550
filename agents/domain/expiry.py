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
from ccmon.agents.domain.exits import NOT_OFFERED, expire_callback, never_offered
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.domain.tickets import count_breaches
from ccmon.streams.config import QueuePolicy

PolicyFor = Callable[[str, str], QueuePolicy]

# A partition whose latest counted event was this much older than the wall clock when it was
# counted is reading a backlog. Live traffic is counted within a second or two of its event
# time; a producer that batches, or clocks a little apart, stay well under it.
BEHIND_SECONDS = 30.0
# Closed intervals written whole per tick and partition: a simulated day of a week-long
# replay (48 intervals) passes in a few ticks.
WHOLE_PER_TICK = 16


def expiry_now(state: PartitionState, now: float, stream: bool) -> float:
    """The "now" the partition's time-driven removals are judged by: ``now`` is the worker's
    clock (the wall clock, or the stream clock shared by the workers).

    A partition's removals follow how far *it* has read, while it reads a backlog: the
    answers and late offers still in the backlog must find their contacts waiting, or
    closed, as they were at that time. On the wall clock they were expired, or forgotten,
    before they were read (a 4-minute backlog expired every contact waiting more than
    60 s); on the shared stream clock, by the events of the partitions counted first.

    - stream clock: the partition's latest event time, never past the shared one;
    - wall clock, live: the wall clock (a quiet queue's waiting contacts still expire);
    - wall clock, while the partition reads a backlog (its last counted events were old
      when counted): its latest event time. It stays there while the partition reads
      nothing more (an outage in the middle of a backlog expires nothing); its next fresh
      event brings the wall clock back."""
    progress = state.progress
    if progress.ev is None or progress.evw is None:
        return now
    if stream or progress.evw - progress.ev > BEHIND_SECONDS:
        return min(now, progress.ev)
    return now


def apply_tick(fx: Effects, now: float, policy_for: PolicyFor) -> dict[str, int]:
    """Record in ``fx`` what is due in its partition; returns counts by kind for the log."""
    state, limits = fx.state, fx.limits
    cutoff_minute = b.minute_of(now) - limits.bucket_retention_minutes
    removed: Counter[str] = Counter()
    kept_from = now - (limits.record_revision_days + 2) * 86400
    for kind, when in sorted(state.buckets()):
        if (
            (kind == "m" and int(when) <= cutoff_minute)
            or (kind == "d" and b.day_is_expired(when, now, limits.day_retention_days))
            # Two days more than the revisions: a late event may still revise its interval
            # (Effects.period judges by the interval's start) and its day needs them all.
            or (kind == "p" and int(when) * 60 < kept_from)
        ):
            fx.writes.drop.append((kind, when))
            removed["buckets"] += 1
    # Closed intervals go to Redis whole (one value for the partition's queues, ~40 B a
    # queue against ~200 split), a few a tick: a worker that has just written back a week
    # of them split spreads the work over minutes, not one call.
    dropped = {int(when) for kind, when in fx.writes.drop if kind == "p"}
    due = [start for start in state.split_closed() if start not in dropped]
    for start in due[:WHOLE_PER_TICK]:
        fx.writes.whole[("p", str(start))] = state.interval(start)
        removed["intervals_whole"] += 1
    # A guard bucket goes once its whole minute is older than the guard's memory, on the
    # partition's own clock: a week of event time read in an hour keeps a day of guard.
    for minute, (shards, _) in state.guard.items():
        if (minute + 1) * 60 <= now - limits.dedupe_ttl_seconds:
            fx.writes.guard_drop[minute] = shards
            removed["guard_buckets"] += 1

    for cq, contacts in state.live.items():
        channel, queue = cq.split("|", 1)
        expired = not_offered = 0
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
                if never_offered(entry):  # its offer never came (ccmon.agents.domain.exits)
                    not_offered += 1
            elif what == "cb":  # a requested callback: missed when its window runs out
                if expire_callback(fx, cq, contact, entry, now, policy_for(channel, queue)):
                    removed["callbacks"] += 1
                continue
            elif what == "month":  # a month's tally of days: kept into the next month
                if age <= 40 * 86400:
                    continue
            elif what == "rec":  # a closed record's marker: kept while it can be revised
                if age <= (limits.record_revision_days + 2) * 86400 or entry.get("pend"):
                    continue
            elif what in {"tc", "tu"}:
                # A promise still running (a customer message on a resolved ticket waiting
                # for its reply) keeps its ticket.
                if age <= limits.closed_ticket_marker_seconds or entry.get("d"):
                    continue
            else:
                continue
            fx.delete(cq, contact)
            removed["live"] += 1
        if expired:
            fx.add(TOTALS, cq, {b.EXPIRED: expired})
            removed["expired_waiting"] += expired
        if not_offered:
            fx.add(TOTALS, cq, {NOT_OFFERED: not_offered})
            removed["never_offered"] += not_offered
        if channel == "ticket":
            breached = count_breaches(fx, cq, contacts, now)
            if breached:
                removed["promises_breached"] += breached
    return dict(removed)
