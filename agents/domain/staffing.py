"""Agent states, per agent and per queue: the two hops of docs/architecture.md, "Agents and
staffing". Pure domain logic over an :class:`~ccmon.agents.domain.effects.Effects`.

Hop 1, in the agent's partition (``crc32("agent|<agent_id>")``): one live entry per agent
(``k="ag1"``) holds its state, since when, its last event time and the queues it serves.
Each event is applied in event-time order; its consequence for each queue it touches is a
*staff record* put in ``fx.outbox`` for that queue's partition: the agent's new state there
and the state interval it closes.

Hop 2, in the queue's partition: one live entry per agent and queue (``k="ag"``, or an
``"ago"`` marker once it left) sets the queue's gauges; closed intervals are added to the
queue's minute and day buckets (occupancy). Staff records are *values*, not increments: a
record applied twice, or after a newer one, changes nothing, so the gauges are right
whatever the order the two hops' records arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.partition import partition_for
from ccmon.streams.contract.events import Event

AGENT_CQ = "agent|"  # hop-1 entries: channel "agent", no queue; contact = agent id
OUT = "out"
# Hop-2 entries sit among a queue's contacts; ids cannot hold control characters, so this
# prefix never meets a contact id.
STAFF_PREFIX = "\x01"
SECONDS = "as:"  # + state: seconds spent in it (minute and day buckets)
# Slot-seconds (docs/metrics.md, "Concurrency"): contact slots offered by agents ready to
# serve, and those busy with a contact; occupancy is their ratio.
SLOTS_BUSY = "sl:busy"
SLOTS_READY = "sl:ready"
BUSY_STATES = frozenset({"on_contact", "after_contact_work"})


def slots_of(state: str, own: int | None, queue_slots: int, channel: str) -> int:
    """Contact slots an agent offers a queue in ``state``: none when not ready or out; one
    call at a time in a call queue (a queue's or an agent's limit is for its chats and
    tickets); else the agent's own max_concurrent if it sent one, else the queue's."""
    if state in (OUT, "not_ready"):
        return 0
    if channel == "call":
        return 1
    return own if own is not None else queue_slots


def busy_of(state: str, busy: int | None, slots: int) -> int:
    """Slots in use: what the agent event said, else one while on a contact or wrapping."""
    if busy is None:
        busy = 1 if state in BUSY_STATES else 0
    return min(busy, slots)


Record = dict[str, Any]


def _interval_seconds(start: float, end: float, retention_minutes: int) -> dict[int, float]:
    """Seconds of [start, end) per epoch minute, only the minutes still kept."""
    out: dict[int, float] = {}
    start = max(start, end - retention_minutes * 60.0)
    while start < end:
        minute = b.minute_of(start)
        stop = min(end, (minute + 1) * 60.0)
        out[minute] = out.get(minute, 0.0) + stop - start
        start = stop
    return out


def _staff(ev_id: str, src: str, cq: str, agent: str, state: Record, e: float) -> Record:
    channel, queue = cq.split("|", 1)
    return {
        "x": "staff",
        "event_id": f"{ev_id}@{cq}",
        "src": f"{src}@{cq}",
        "channel": channel,
        "queue": queue,
        "agent_id": agent,
        "e": e,
        **state,
    }


def _skills_of(ev: Event) -> list[str] | None:
    """The queues an event says the agent serves, or None when it says nothing of them."""
    if ev.type == "skills_changed" or (ev.type == "logged_in" and ev.queues is not None):
        return list(dict.fromkeys(ev.queues or ()))
    return None


def _skills_time(entry: Mapping[str, Any]) -> float:
    """Event time of the skills an entry holds. Entries written before skills carried their
    own time ("qe") got them from an event no later than "e"; none held means never."""
    if "qe" in entry:
        return float(entry["qe"])
    return float(entry["e"]) if entry["q"] else float("-inf")


def apply_agent(ev: Event, src: str, fx: Effects, partitions: int) -> bool:
    """Hop 1: one agent event. Returns True when it is late (older than the agent's last
    applied event): its state change is dropped, but its skills still apply when they are
    newer than the ones held (the on_contact keyed by contact overtook the logged_in)."""
    agent = ev.agent_id or ""
    entry = fx.live(AGENT_CQ, agent)
    ts = ev.occurred_at
    skills = _skills_of(ev)
    if entry is not None and ts < float(entry["e"]):
        if skills is not None and ts > _skills_time(entry):
            _late_skills(ev, src, fx, partitions, entry, skills)
        return True
    old_state = OUT if entry is None else str(entry["s"])
    old_queues: list[str] = [] if entry is None else list(entry["q"])
    new: Record = dict(entry) if entry is not None else {"k": "ag1", "s": OUT, "t": ts, "q": []}
    new["e"] = ts
    if skills is not None:
        new.update(q=skills, qe=ts)
    if ev.max_concurrent is not None:
        new["m"] = ev.max_concurrent  # the agent's own limit holds until it says another
    if ev.type == "logged_out":
        new.update(s=OUT, t=ts, r=None, c=None, n=None)
    elif ev.type in ("logged_in", "state_changed"):
        new.update(s=ev.state or "available", t=ts, r=ev.reason, c=ev.contact_channel)
        new["n"] = ev.slots_busy
    fx.put(AGENT_CQ, agent, new)
    state_changed = ev.type != "skills_changed"
    for cq in sorted({*old_queues, *new["q"]}):
        was_in = old_state != OUT and cq in old_queues
        now_in = new["s"] != OUT and cq in new["q"]
        if not was_in and not now_in:
            continue
        if was_in and now_in and not state_changed:
            continue  # a kept skill: nothing changes in that queue
        record: Record = {"s": new["s"] if now_in else OUT, "t": ts, "r": new.get("r")}
        _slots_fields(record, new)
        if was_in and entry is not None:
            record.update(ps=old_state, pt=float(entry["t"]))
            _slots_fields(record, entry, "p")
        elif was_in:
            record.update(ps=old_state, pt=ts)
        _send(fx, partitions, _staff(ev.event_id, src, cq, agent, record, ts))
    return False


def _slots_fields(record: Record, entry: Mapping[str, Any], prefix: str = "") -> None:
    """The agent's busy slots (n) and own limit (m), when known, into a staff record; with
    ``prefix`` "p", those of the interval the record closes."""
    for name in ("n", "m"):
        if entry.get(name) is not None:
            record[prefix + name] = entry[name]


def _late_skills(
    ev: Event, src: str, fx: Effects, partitions: int, entry: Mapping[str, Any], skills: list[str]
) -> None:
    """A late event's newer skills: the agent keeps its (newer) state and moves with it into
    the queues added and out of the ones removed. The staff records carry the agent's last
    event time, so that hop 2 ranks them with the agent's other records of those queues."""
    agent = ev.agent_id or ""
    fx.put(AGENT_CQ, agent, {**entry, "q": skills, "qe": ev.occurred_at})
    state = str(entry["s"])
    if state == OUT:
        return  # staffed nowhere either way
    old = set(entry["q"])
    since, last = float(entry["t"]), float(entry["e"])
    for cq in sorted(old.symmetric_difference(skills)):
        if cq in old:  # closes its interval in that queue when the skills changed, if after
            record: Record = {"s": OUT, "t": max(ev.occurred_at, since), "r": None}
            record.update(ps=state, pt=since)
            _slots_fields(record, entry, "p")
        else:
            record = {"s": state, "t": since, "r": entry.get("r")}
            _slots_fields(record, entry)
        _send(fx, partitions, _staff(ev.event_id, src, cq, agent, record, last))


def _send(fx: Effects, partitions: int, record: Record) -> None:
    fx.emit(partition_for(f"{record['channel']}|{record['queue']}", partitions), record)


def expire_agents(fx: Effects, now: float, silence: float, partitions: int) -> int:
    """Hop 1, on the timer: agents silent for ``silence`` seconds are logged out (a lost
    logged_out); logged-out entries are forgotten after the same silence."""
    expired = 0
    for agent, entry in fx.state.live.get(AGENT_CQ, {}).items():
        last = float(entry["e"])
        if now - last <= silence:
            continue
        fx.delete(AGENT_CQ, agent)
        if entry["s"] == OUT:
            continue
        expired += 1
        marker = f"silence:{agent}:{last!r}"
        for cq in entry["q"]:
            record = {"s": OUT, "t": now, "ps": entry["s"], "pt": float(entry["t"]), "r": None}
            _slots_fields(record, entry, "p")
            staff = _staff(marker, marker, cq, agent, record, now)
            # Its guard's time: made again after a crash, at another "now", it must meet the
            # guard of the first (it has no position: counting.py, guard_of).
            staff["g"] = last + silence
            _send(fx, partitions, staff)
    return expired


def apply_staff(record: Record, fx: Effects, tz: str, now: float, queue_slots: int = 1) -> bool:
    """Hop 2: an agent's new state in one queue (whose agents serve ``queue_slots`` contacts
    at once). Returns True when its interval was late (its minutes are gone)."""
    cq = b.cq_key(str(record["channel"]), str(record["queue"]))
    key = STAFF_PREFIX + str(record["agent_id"])
    entry = fx.live(cq, key)
    e, t = float(record["e"]), float(record["t"])
    if entry is None or e >= float(entry["e"]):
        if record["s"] == OUT:
            fx.put(cq, key, {"k": "ago", "t": t, "e": e})
        else:
            live = {"k": "ag", "s": record["s"], "r": record.get("r"), "t": t, "e": e}
            _slots_fields(live, record)
            fx.put(cq, key, live)
    late = False
    if "ps" in record and t > float(record["pt"]):
        state = str(record["ps"])
        ready = slots_of(state, record.get("pm"), queue_slots, str(record["channel"]))
        slots = (ready, busy_of(state, record.get("pn"), ready))
        late = _add_interval(fx, cq, state, slots, float(record["pt"]), t, tz, now)
    return late


def _add_interval(
    fx: Effects,
    cq: str,
    state: str,
    slots: tuple[int, int],
    start: float,
    end: float,
    tz: str,
    now: float,
) -> bool:
    retention = fx.limits.bucket_retention_minutes
    cutoff = b.minute_of(now) - retention
    late = b.minute_of(start) <= cutoff
    for minute, seconds in _interval_seconds(start, end, retention).items():
        counts = state_seconds(state, slots, seconds)
        if minute > cutoff:
            fx.add(("m", str(minute)), cq, counts)
        day = b.local_day(minute * 60.0, tz)
        if not b.day_is_expired(day, now, fx.limits.day_retention_days):
            fx.add(("d", day), cq, counts)
    return late


def state_seconds(state: str, slots: tuple[int, int], seconds: float) -> dict[str, float]:
    """What ``seconds`` in ``state`` with (ready, busy) slots add to a bucket."""
    counts = {SECONDS + state: seconds}
    if slots[0]:
        counts[SLOTS_READY] = slots[0] * seconds
    if slots[1]:
        counts[SLOTS_BUSY] = slots[1] * seconds
    return counts


def agent_slots(live: dict[str, Any], queue_slots: int, channel: str) -> tuple[int, int, int]:
    """(slots ready, slots busy, slots of every staffed agent) of one queue's live entries:
    the gauges, and the servers of the forecast (N counts not-ready agents too)."""
    ready = busy = staffed = 0
    for entry in live.values():
        if entry.get("k") != "ag":
            continue
        state, own = str(entry["s"]), entry.get("m")
        slots = slots_of(state, own, queue_slots, channel)
        ready += slots
        busy += busy_of(state, entry.get("n"), slots)
        staffed += slots_of("available", own, queue_slots, channel)
    return ready, busy, staffed


def live_seconds(
    live: dict[str, Any], queue_slots: int, channel: str, now: float, starts: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Per window (name -> its start), the seconds of the states still in progress, up to
    ``now``: the closed intervals are in the buckets, these are not yet (docs/metrics.md,
    "Occupancy")."""
    out: dict[str, dict[str, float]] = {name: {} for name in starts}
    for entry in live.values():
        if entry.get("k") != "ag":
            continue
        state, since = str(entry["s"]), float(entry["t"])
        ready = slots_of(state, entry.get("m"), queue_slots, channel)
        slots = (ready, busy_of(state, entry.get("n"), ready))
        for name, start in starts.items():
            seconds = now - max(since, start)
            if seconds > 0:
                b.add_into(out[name], state_seconds(state, slots, seconds))
    return out


def agent_counts(live: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """(agents per state, not-ready agents per reason) of one queue's live entries."""
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for entry in live.values():
        if entry.get("k") != "ag":
            continue
        state = str(entry["s"])
        states[state] = states.get(state, 0) + 1
        if state == "not_ready":
            reason = str(entry.get("r") or "other")
            reasons[reason] = reasons.get(reason, 0) + 1
    return states, reasons
