"""Queue exits besides the answer and the abandon (docs/events.md, "Queue exits"), and the
rules for exits that do not fit a contact's lifecycle. Pure, like
:mod:`ccmon.agents.domain.contacts`, which calls it.

- A contact leaves its queue once per visit: by its first exit (answered, abandoned,
  callback requested or flowed out). A second exit of the same visit is counted only as
  ``irr:repeated``; it changes no count, no wait and no service level.
- An exit for a contact not waiting in the queue (never offered, its offer not read yet,
  expired or forgotten) is counted as that exit, wait from ``wait_seconds`` or unknown; if
  no offer of that visit is read by the time its closed marker is forgotten (15 minutes),
  it is marked ``irr:not_offered`` then (an offer overtaken by its exit is not missing).
- A flow-out to a queue and a transfer offer the contact to their target queue: a record
  for the target's partition, made from the state like hop 1's staff records, so that a
  step counted again makes it again with the same position (the target skips it). A target
  that is not a configured queue of the channel (when the configuration lists queues) is
  offered nowhere and marked ``irr:unknown_target``: a typo never makes a queue label.
- A requested callback is a contact of its own, with its own promise: placed within its
  window (``callback_within_seconds``, else the queue's ``max_wait_seconds``) it is met;
  placed later, or still not placed when the window ran out (the expiry tick), missed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.partition import partition_for
from ccmon.streams.contract.events import Event
from ccmon.streams.policy import QueuePolicy

NOT_OFFERED = b.IRREGULAR + "not_offered"
REPEATED = b.IRREGULAR + "repeated"
UNKNOWN_TARGET = b.IRREGULAR + "unknown_target"
RULES = ("not_offered", "repeated", "unknown_target")

QUEUE_EXITS = frozenset({"answered", "abandoned", "callback_requested", "flowed_out"})
# Events that may offer the contact to another queue: the counting hop stamps their
# records with positions (ccmon.agents.worker.counting).
ROUTING = frozenset({"flowed_out", "transferred"})
# Flags of a visit kept on its entry: a second one of the same kind is a repeat.
FLAGS = {"transferred": "tr", "abandoned_on_hold": "h"}
_KEPT = ("tr", "h", "o")  # what a visit's marker keeps of its entry
OFFER = "offer"  # the ``x`` of a record that offers a contact to a target queue
# A pending callback's live entry: a key no contact id can be (ids have no controls).
CALLBACK_KEY = "\x01cb:"
# A callback not placed is kept this long past its window (for a late placement), then
# forgotten.
CALLBACK_KEPT_SECONDS = 86400.0


@dataclass(frozen=True)
class Routes:
    """Where a routed contact may go: the number of repartition partitions and whether a
    channel x queue is a known target."""

    partitions: int
    known: Callable[[str, str], bool] = lambda channel, queue: True


def exit_counted(entry: Mapping[str, Any] | None) -> bool:
    """Whether the visit of ``entry`` has left the queue already. A closed marker of ccmon
    0.3 has no ``e``: taken as counted (a repeat is worse than a lost late answer)."""
    if entry is None:
        return False
    kind = entry.get("k")
    return kind == "a" or (kind == "x" and bool(entry.get("e", 1)))


def closed(entry: Mapping[str, Any] | None, ts: float, exited: int, **flags: int) -> dict[str, Any]:
    """The marker of a visit closed at ``ts``, keeping the flags it had. A visit closed
    with no entry before is ``o: 0``: not offered (yet)."""
    out: dict[str, Any] = {"k": "x", "t": ts, "e": exited}
    if entry is None:
        out["o"] = 0
    else:  # (per exit: a waiting entry has none of them, three lookups)
        for key in _KEPT:
            if key in entry:
                out[key] = entry[key]
    if flags:
        out.update(flags)
    return out


def never_offered(entry: Mapping[str, Any]) -> bool:
    """A closed visit whose offer was never read, with something counted for it (an exit, a
    transfer, an abandon on hold; an end alone is not): marked when its marker is forgotten
    (the expiry tick) or a later visit starts, so that an offer overtaken by its exit is not
    taken for a missing one."""
    return entry.get("o") == 0 and bool(entry.get("e") or entry.get("tr") or entry.get("h"))


def reopens(entry: Mapping[str, Any] | None, ev: Event) -> bool:
    """Whether an ``offered`` starts a new visit: nothing is known of the contact, or its
    last visit closed before this offer. An offer stamped at or before the close is the
    late offer of that visit (a routed offer overtaken by the contact's answer in the
    target queue: they travel through different partitions)."""
    if entry is None:
        return True
    return entry.get("k") == "x" and ev.occurred_at > float(entry["t"])


def offer_seen(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The entry once the late offer of its visit is read: no longer "never offered"."""
    if entry is not None and entry.get("o") == 0:
        return {**entry, "o": 1}
    return None


def route(ev: Event, fx: Effects, routes: Routes, target: str, incs: dict[str, float]) -> None:
    """Offer the contact of ``ev`` to ``target`` (its channel), or mark the unknown target."""
    if not routes.known(ev.channel, target):
        incs[UNKNOWN_TARGET] = 1
        return
    cq = b.cq_key(ev.channel, target)
    record = {
        "x": OFFER,
        "event_id": f"{ev.event_id}>{cq}",
        "src": f"{fx.src}>{cq}",
        "channel": ev.channel,
        "type": "offered",
        "occurred_at": ev.occurred_at,
        "queue": target,
        "contact_id": ev.contact_id,
        "via": ev.queue,
    }
    fx.emit(partition_for(cq, routes.partitions), record)


def after_answer(
    ev: Event, fx: Effects, cq: str, entry: Mapping[str, Any] | None, routes: Routes
) -> dict[str, float]:
    """A transfer or an abandon on hold: counted once per visit, whatever the visit's
    state (an answer not read yet keeps the contact waiting until it is)."""
    flag = FLAGS[ev.type]
    if entry is not None and entry.get(flag):
        return {REPEATED: 1}
    incs: dict[str, float]
    if ev.type == "transferred":
        incs = {b.TRANSFERRED: 1}
        route(ev, fx, routes, ev.target_queue or "", incs)
    else:
        incs = {b.ABANDONED_ON_HOLD: 1}
    if entry is None:
        fx.put(cq, ev.contact_id, closed(None, ev.occurred_at, 0, **{flag: 1}))
    else:
        fx.put(cq, ev.contact_id, {**entry, flag: 1})
    return incs


def request_callback(ev: Event, fx: Effects, cq: str, policy: QueuePolicy) -> None:
    """The callback, a contact of its own: waiting until placed."""
    window = ev.callback_within_seconds
    if window is None:
        window = policy.max_wait_seconds
    fx.put(
        cq,
        CALLBACK_KEY + ev.contact_id,
        {"k": "cb", "t": ev.occurred_at, "d": ev.occurred_at + window},
    )


def place_callback(ev: Event, fx: Effects, cq: str) -> dict[str, float]:
    key = CALLBACK_KEY + ev.contact_id
    entry = fx.live(cq, key)
    fx.put(cq, key, closed(entry, ev.occurred_at, 1))
    if entry is None:
        return {b.CALLBACKS_PLACED: 1}
    if entry.get("k") != "cb":
        fx.put(cq, key, entry)
        return {REPEATED: 1}
    incs = {b.CALLBACKS_PLACED: 1.0}
    if not entry.get("m"):  # not counted missed by the expiry tick already
        incs[b.CALLBACKS_MET if ev.occurred_at <= float(entry["d"]) else b.CALLBACKS_MISSED] = 1
    return incs


def expire_callback(
    fx: Effects, cq: str, key: str, entry: Mapping[str, Any], now: float, policy: QueuePolicy
) -> bool:
    """The tick: a callback whose window ran out is missed (once, in the minute of its
    deadline); kept for a late placement, then forgotten. True when it was forgotten."""
    deadline = float(entry["d"])
    if now > deadline + CALLBACK_KEPT_SECONDS:
        fx.delete(cq, key)
        return True
    if now > deadline and not entry.get("m"):
        channel, queue = cq.split("|", 1)
        fx.count(channel, queue, deadline, now, policy, {b.CALLBACKS_MISSED: 1})
        fx.put(cq, key, {**entry, "m": 1})
    return False
