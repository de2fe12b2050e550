"""Contract-valid contact-centre events for the benchmark, and the tally they must produce.

Events come in whole lifecycles (offered -> answered -> first_response -> ended, abandoned,
blocked, surveys; tickets created -> first_response -> resolved -> reopened -> resolved),
so the worker's per-contact state is exercised as in production. Generation is
deterministic for a seed. Every (channel, queue) gets at least one contact, then queues are
drawn with a Zipf-like skew (a few busy queues, a long tail).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

CHANNELS = ("call", "chat", "ticket")
TOPICS = {
    "call": "contact-center.calls",
    "chat": "contact-center.chats",
    "ticket": "contact-center.tickets",
}
_CHANNEL_CUM = (0.5, 0.8, 1.0)
BLOCK_REASONS = ("trunks_busy", "queue_full", "no_agents", "closed")

# Per-queue counter (sample name on /metrics) that each event type increments by exactly
# one: the per-queue sum of these equals the number of events of that queue.
COUNTER_OF_TYPE = {
    "offered": "ccmon_contacts_offered_total",
    "answered": "ccmon_contacts_answered_total",
    "abandoned": "ccmon_contacts_abandoned_total",
    "blocked": "ccmon_contacts_blocked_total",
    "ended": "ccmon_contacts_ended_total",
    "first_response": "ccmon_first_responses_total",
    "created": "ccmon_tickets_created_total",
    "resolved": "ccmon_tickets_resolved_total",
    "reopened": "ccmon_tickets_reopened_total",
    "survey": "ccmon_survey_responses_total",
}
EVENT_COUNTERS = frozenset(COUNTER_OF_TYPE.values())

Timed = tuple[float, str, dict[str, Any]]  # (event time, channel, event dict)


@dataclass(slots=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    ts_ms: int


@dataclass
class Expected:
    """What the worker must end up counting for the events produced."""

    events: int = 0
    duplicates: int = 0  # exact re-sends of events already produced: never counted twice
    by_topic_type: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_queue: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    one_day: bool = True  # every event time on one UTC day: the "today" window holds them all

    def add(self, channel: str, event: dict[str, Any]) -> None:
        self.events += 1
        self.by_topic_type[(TOPICS[channel], event["type"])] += 1
        cq = (channel, event["queue"])
        counters = self.by_queue.get(cq)
        if counters is None:
            counters = self.by_queue[cq] = Counter()
        counters[COUNTER_OF_TYPE[event["type"]]] += 1

    def queue_totals(self) -> dict[tuple[str, str], int]:
        return {cq: sum(c.values()) for cq, c in self.by_queue.items()}


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def occurred_at(ts: float, rng: random.Random) -> str | int:
    # Both encodings the contract allows; most integrations send RFC 3339.
    return rfc3339(ts) if rng.random() < 0.8 else round(ts * 1000)


class Generator:
    def __init__(self, queues: list[str], prefix: str, seed: int) -> None:
        self.queues = queues
        self.prefix = prefix
        self.rng = random.Random(seed)
        self.cum_weights = list(
            itertools.accumulate(1.0 / (rank + 1) ** 0.7 for rank in range(len(queues)))
        )
        self.seq = 0

    def _base(self, kind: str, ts: float, queue: str, contact: str) -> dict[str, Any]:
        self.seq += 1
        return {
            "event_id": f"{self.prefix}-{self.seq}",
            "type": kind,
            "occurred_at": occurred_at(ts, self.rng),
            "queue": queue,
            "contact_id": contact,
        }

    def contact(self, channel: str, queue: str, t0: float) -> list[Timed]:
        """One whole lifecycle starting at ``t0``, in event-time order."""
        rng = self.rng
        cid = f"{self.prefix}-{channel[:2]}{self.seq}"
        out: list[Timed] = []

        def emit(kind: str, ts: float, **extra: Any) -> None:
            out.append((ts, channel, {**self._base(kind, ts, queue, cid), **extra}))

        if channel == "ticket":
            emit("created", t0, priority=rng.choice(("low", "normal", "normal", "high")))
            t = t0 + rng.expovariate(1 / 1200)
            emit("first_response", t, agent_id=f"a{rng.randrange(400)}")
            t += rng.expovariate(1 / 1800)
            emit("resolved", t, resolved_first_contact=rng.random() < 0.7)
            if rng.random() < 0.08:
                t += rng.expovariate(1 / 600)
                emit("reopened", t)
                emit("resolved", t + rng.expovariate(1 / 900))
            return out
        if rng.random() < 0.04:
            emit("blocked", t0, reason=rng.choice(BLOCK_REASONS))
            return out
        emit("offered", t0)
        wait = min(rng.expovariate(1 / 25), 900.0)
        if rng.random() < 0.12:
            extra = {"wait_seconds": round(wait, 3)} if rng.random() < 0.7 else {}
            emit("abandoned", t0 + wait, **extra)
            return out
        agent = f"a{rng.randrange(400)}"
        t = t0 + wait
        emit("answered", t, wait_seconds=round(wait, 3), agent_id=agent)
        if channel == "chat":
            emit("first_response", t + rng.expovariate(1 / 15), agent_id=agent)
        talk, hold, wrap = rng.lognormvariate(5.3, 0.6), rng.expovariate(1 / 20), 30.0
        t += talk + hold + wrap
        emit(
            "ended",
            t,
            agent_id=agent,
            talk_seconds=round(min(talk, 20000), 3),
            hold_seconds=round(hold, 3),
            wrap_seconds=wrap,
            resolved_first_contact=rng.random() < 0.75,
        )
        if rng.random() < 0.1:
            emit("survey", t + 60, csat=rng.randint(1, 5))
        return out

    def pick(self, i: int) -> tuple[str, str]:
        """The channel and queue of the ``i``-th contact: every pair once first, then a
        Zipf-like draw (a few busy queues, a long tail)."""
        if i < len(self.queues) * len(CHANNELS):
            q, c = divmod(i, len(CHANNELS))
            return CHANNELS[c], self.queues[q]
        rng = self.rng
        channel = rng.choices(CHANNELS, cum_weights=_CHANNEL_CUM)[0]
        return channel, rng.choices(self.queues, cum_weights=self.cum_weights)[0]

    def events(self, n: int, start: float, end: float) -> list[Timed]:
        """Exactly ``n`` events with event times in [start, end], sorted by event time.
        Lifecycle steps that would fall after ``end`` are left out (contacts in progress)."""
        rng = self.rng
        out: list[Timed] = []
        i = 0
        while len(out) < n:
            channel, queue = self.pick(i)
            i += 1
            t0 = rng.uniform(start, end)
            out.extend(e for e in self.contact(channel, queue, t0) if e[0] <= end)
        del out[n:]
        out.sort(key=lambda e: e[0])
        return out


def queue_names(count: int, prefix: str = "q") -> list[str]:
    width = len(str(count - 1))
    return [f"{prefix}{i:0{width}d}" for i in range(count)]


def queue_config(workdir: Path, queues: int) -> Path | None:
    """A queue configuration that admits ``queues`` per channel (past the default cap of
    500), or None when the default does."""
    needed = queues + 1
    if needed <= 500:
        return None
    path = workdir / "queues.yaml"
    path.write_text(f"limits:\n  max_queues: {needed}\n", encoding="utf-8")
    return path


@dataclass
class Dataset:
    records: list[Record]
    expected: Expected
    first_event: float
    last_event: float


def build_dataset(
    n: int, queues: list[str], prefix: str, end: float, span: float, duplicates: float = 0.0
) -> Dataset:
    """The preload: ``n`` records over ``span`` seconds of event time ending at ``end``,
    keyed by contact id (as ACDs usually key them), Kafka timestamps = event time.

    ``duplicates``: the share of the ``n`` records that are exact re-sends of an event
    already produced (same event id, same bytes), a little later in the stream, as a
    producer's retry or a webhook's replay would be; ``Expected`` counts each event once."""
    copies = round(n * duplicates)
    timed = Generator(queues, prefix, seed=7).events(n - copies, end - span, end)
    expected = Expected()
    records = []
    for ts, channel, event in timed:
        expected.add(channel, event)
        records.append(
            Record(
                TOPICS[channel],
                event["contact_id"].encode(),
                orjson.dumps(event),
                int(ts * 1000),
            )
        )
    resend(records, copies, random.Random(11))
    expected.duplicates = copies
    first, last = timed[0][0], timed[-1][0]
    expected.one_day = _utc_day(first) == _utc_day(last)
    return Dataset(records, expected, first, last)


def resend(records: list[Record], copies: int, rng: random.Random) -> None:
    """Insert ``copies`` re-sends, each of a distinct record, 1 to 5,000 records after it."""
    if not copies:
        return
    originals = rng.sample(range(len(records)), copies)
    later: dict[int, list[Record]] = {}
    for i in originals:
        later.setdefault(min(i + rng.randint(1, 5000), len(records) - 1), []).append(records[i])
    merged: list[Record] = []
    for i, record in enumerate(records):
        merged.append(record)
        merged.extend(later.get(i, ()))
    records[:] = merged


def _utc_day(ts: float) -> int:
    return int(ts // 86400)
