"""An independent recount of the closed records (the golden reference's counterpart for
issue 26): from the events and the queues' rules as docs/metrics.md writes them, with plain
loops, its own business-time arithmetic (day by day with datetime, deadlines by bisection)
and none of ccmon's counting code.

``recount(events, queues, horizon)`` gives, per (channel, queue, period kind, local start),
the counts, service level and promise outcomes a closed record must hold, for every period
that ends by ``horizon``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Rules:
    """One channel x queue's rules, written again from the configuration's meaning."""

    tz: str
    interval: int  # minutes
    hours: dict[int, tuple[tuple[int, int], ...]] | None  # weekday -> spans in minutes
    threshold: float = 90.0
    comparison: str = "<"
    target: float = 0.8
    short: float = 5.0
    first_reply: float = 86400.0
    next_reply: float = 86400.0
    resolution: float = 172800.0

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def met(self, wait: float) -> bool:
        return wait <= self.threshold if self.comparison == "<=" else wait < self.threshold

    def spans(self, day: date) -> list[tuple[float, float]]:
        z = self.zone()
        if self.hours is None:
            a = datetime(day.year, day.month, day.day, tzinfo=z)
            b = a.date() + timedelta(days=1)
            return [(a.timestamp(), datetime(b.year, b.month, b.day, tzinfo=z).timestamp())]
        out = []
        for lo, hi in self.hours.get(day.weekday(), ()):
            a = datetime(day.year, day.month, day.day, lo // 60, lo % 60, tzinfo=z)
            b = datetime(day.year, day.month, day.day, tzinfo=z) + timedelta(minutes=hi)
            out.append((a.timestamp(), b.timestamp()))
        return out

    def is_open(self, t: float) -> bool:
        day = datetime.fromtimestamp(t, self.zone()).date()
        return any(a <= t < b for a, b in self.spans(day))

    def business(self, start: float, end: float) -> float:
        if end <= start:
            return 0.0
        total, day = 0.0, datetime.fromtimestamp(start, self.zone()).date() - timedelta(days=1)
        while datetime(day.year, day.month, day.day, tzinfo=self.zone()).timestamp() < end:
            total += sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.spans(day))
            day += timedelta(days=1)
        return total

    def deadline(self, start: float, budget: float) -> float:
        """The last instant with at most ``budget`` business seconds used since ``start``."""
        lo, hi = start, start + budget + 40 * 86400
        for _ in range(80):
            mid = (lo + hi) / 2
            if self.business(start, mid) <= budget:
                lo = mid
            else:
                hi = mid
        return lo

    def interval_start(self, t: float) -> float:
        local = datetime.fromtimestamp(t, self.zone())
        first = local.replace(minute=local.minute - local.minute % self.interval, second=0,
                              microsecond=0)  # fmt: skip
        return first.timestamp()

    def label(self, t: float) -> str:
        return datetime.fromtimestamp(t, self.zone()).isoformat(timespec="minutes")


@dataclass
class Period:
    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    end: float = 0.0


def _seconds(value: object) -> float:
    if isinstance(value, int):
        return value / 1000
    return datetime.fromisoformat(str(value)).timestamp()


class Recount:
    def __init__(self, queues: dict[tuple[str, str], Rules], horizon: float) -> None:
        self.queues = queues
        self.horizon = horizon
        self.periods: dict[Key, Period] = {}

    def add(self, channel: str, queue: str, t: float, name: str, value: float = 1.0) -> None:
        rules = self.queues[(channel, queue)]
        start = rules.interval_start(t)
        end = start + rules.interval * 60
        day = datetime.fromtimestamp(t, rules.zone()).date()
        z = rules.zone()
        d0 = datetime(day.year, day.month, day.day, tzinfo=z).timestamp()
        nxt = day + timedelta(days=1)
        d1 = datetime(nxt.year, nxt.month, nxt.day, tzinfo=z).timestamp()
        for kind, first, last in (("interval", start, end), ("day", d0, d1)):
            key = (channel, queue, kind, rules.label(first))
            period = self.periods.setdefault(key, Period(end=last))
            period.counts[name] += value

    def closed(self) -> dict[Key, dict[str, float]]:
        return {k: dict(p.counts) for k, p in self.periods.items() if p.end <= self.horizon}


def recount(
    events: list[tuple[str, dict[str, Any]]], queues: dict[tuple[str, str], Rules], horizon: float
) -> dict[Key, dict[str, float]]:
    """Every closed period's expected figures: counts (record names), ``sl_good`` and
    ``sl_eligible`` (answered / answered + abandoned, offered while open, the variant these
    tests configure), and ``met:<promise>`` / ``missed:<promise>`` for tickets."""
    r = Recount(queues, horizon)
    offered_at: dict[tuple[str, str], float] = {}
    tickets: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for channel, e in events:
        q, c, kind = str(e["queue"]), str(e["contact_id"]), e["type"]
        t = _seconds(e["occurred_at"])
        rules = queues[(channel, q)]
        r.add(channel, q, t, "_events")  # every event makes its period's record exist
        if channel == "ticket":
            tickets[(q, c)].append((t, kind))
            name = {"created": "tickets_created", "resolved": "tickets_resolved",
                    "reopened": "tickets_reopened", "agent_replied": "t_replies",
                    "customer_replied": "t_customer", "pending": "t_pending"}.get(kind)  # fmt: skip
            if name:
                r.add(channel, q, t, name)
            continue
        if kind == "offered":
            offered_at.setdefault((channel, c), t)
            r.add(channel, q, t, "offered")
            if not rules.is_open(t):
                r.add(channel, q, t, "offered_closed")
        elif kind in ("answered", "abandoned"):
            wait = float(e["wait_seconds"])
            is_open = rules.is_open(t - wait)
            r.add(channel, q, t, kind)
            if kind == "answered":
                r.add(channel, q, t, "wait_ms", round(wait * 1000))
                r.add(channel, q, t, "waits_known")
            elif wait < rules.short:
                r.add(channel, q, t, "abandoned_short")
            if rules.met(wait):
                r.add(channel, q, t, f"{kind}_within")
            if not is_open:
                r.add(channel, q, t, f"{kind}_closed")
            if is_open:
                r.add(channel, q, t, "sl_eligible")
                if kind == "answered" and rules.met(wait):
                    r.add(channel, q, t, "sl_good")
        elif kind == "blocked":
            r.add(channel, q, t, "blocked")
        elif kind == "ended":
            handle = sum(float(e.get(k) or 0) for k in ("talk_seconds", "hold_seconds",
                                                        "wrap_seconds"))  # fmt: skip
            r.add(channel, q, t, "ended")
            r.add(channel, q, t, "handle_ms", round(handle * 1000))
    for (q, _), history in tickets.items():
        for promise, met, at in judge(sorted(history, key=_order), queues[("ticket", q)]):
            if at is not None and at <= horizon:
                r.add("ticket", q, at, f"{'met' if met else 'missed'}:{promise}")
    return r.closed()


_RANK = {"created": 0, "customer_replied": 1, "resumed": 2, "first_response": 3,
         "agent_replied": 3, "pending": 4, "resolved": 5, "reopened": 6}  # fmt: skip


def _order(item: tuple[float, str]) -> tuple[float, int]:
    return item[0], _RANK.get(item[1], 9)


def judge(history: list[tuple[float, str]], rules: Rules) -> list[tuple[str, bool, float | None]]:
    """(promise, met, when decided) of each promise of one ticket, from docs/metrics.md:
    replies in business time, the resolution paused while pending; met at the reply,
    missed at the deadline. Only what these tests' tickets do (created first, no reopen)."""
    out: list[tuple[str, bool, float | None]] = []
    created = next((t for t, k in history if k == "created"), None)
    if created is None:
        return out
    replies = [t for t, k in history if k in ("first_response", "agent_replied", "resolved")]

    def reply_promise(name: str, start: float, budget: float) -> None:
        due = rules.deadline(start, budget)
        answer = next((t for t in replies if t >= start), None)
        if answer is not None and answer <= due:
            out.append((name, True, answer))
        else:
            out.append((name, False, due))

    reply_promise("first_reply", created, rules.first_reply)
    waiting_since: float | None = None
    for t, k in history:
        if k == "customer_replied" and waiting_since is None and any(x < t for x in replies):
            waiting_since = t
        elif k in ("first_response", "agent_replied", "resolved") and waiting_since is not None:
            reply_promise("next_reply", waiting_since, rules.next_reply)
            waiting_since = None
    if waiting_since is not None:
        reply_promise("next_reply", waiting_since, rules.next_reply)
    # Resolution: business time while not pending, until the first resolution.
    used, running_since, solved = 0.0, created, None
    due: float | None = None
    for t, k in history:
        if k == "pending" and running_since is not None:
            if due is None and used + rules.business(running_since, t) > rules.resolution:
                due = rules.deadline(running_since, rules.resolution - used)
            used += rules.business(running_since, t)
            running_since = None
        elif k in ("customer_replied", "resumed") and running_since is None:
            running_since = t
        elif k == "resolved":
            solved = t
            break
    if due is None and running_since is not None:
        end = solved if solved is not None else running_since + 60 * 86400
        if used + rules.business(running_since, end) > rules.resolution:
            due = rules.deadline(running_since, rules.resolution - used)
    if solved is not None and due is None:
        out.append(("resolution", True, solved))
    elif due is not None:
        out.append(("resolution", False, due))
    return out


# ---- the three-day simulation -------------------------------------------------------------

OFFICE = {d: ((540, 1020),) for d in range(5)}
LONG = {d: ((480, 1200),) for d in range(6)}
# tests/integration/data/records-queues.yaml, written again.
THREE_DAY_RULES = {
    **{(c, "sales"): Rules("Europe/Paris", 30, OFFICE, threshold=20.0, first_reply=7200.0,
                           next_reply=3600.0, resolution=28800.0) for c in ("call", "ticket")},
    **{(c, "care"): Rules("America/New_York", 15, LONG, threshold=60.0, comparison="<=",
                          short=10.0, first_reply=14400.0, next_reply=7200.0,
                          resolution=43200.0) for c in ("chat", "ticket")},
}  # fmt: skip
# Thursday 26 November 2026, 00:00 in Paris: Thursday, Friday and Saturday (the office is
# closed on Saturday, the long hours are not).
THREE_DAY_START = datetime(2026, 11, 26, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
THREE_DAYS = 3 * 86400.0


def three_day_events(seed: int = 26) -> list[tuple[float, str, dict[str, Any]]]:
    """Calls, chats and tickets with conversations and pauses, over three days."""
    from ccmon.agents.devkit.simulator import (
        HandleTime,
        QueueModel,
        SimConfig,
        TicketModel,
        iter_events,
    )

    config = SimConfig(
        queues=(
            QueueModel("sales", "call", 30.0, HandleTime(180.0), ((0.0, 2),),
                       patience_seconds=120.0, wrap_seconds=20.0),
            QueueModel("care", "chat", 20.0, HandleTime(400.0), ((0.0, 2),),
                       patience_seconds=300.0, concurrency=2),
            ),
        tickets=(
            TicketModel("sales", 5.0, 5400.0, 14400.0, exchanges=1.2,
                        customer_reply_seconds=7200.0, pending_probability=0.4),
            TicketModel("care", 3.0, 7200.0, 21600.0, exchanges=0.8,
                        customer_reply_seconds=10800.0, pending_probability=0.3),
        ),
        seed=seed,
        agent_events=False,
        run_id=f"rec{seed}",
    )  # fmt: skip
    return list(iter_events(config, THREE_DAY_START, THREE_DAYS))


# ---- a deployment that closes records -----------------------------------------------------

GRACE_SECONDS = 60.0
# After the three days, an event 2 hours later moves the stream clock on: time passes, and
# every partition, caught up and idle, closes what ended before it (less the grace).
END_MARK = THREE_DAY_START + THREE_DAYS + 7200.0


# The queues of the three days, as the workers read them (THREE_DAY_RULES writes them again).
RECORDS_QUEUES = Path(__file__).parents[1] / "integration" / "data" / "records-queues.yaml"


def three_day_recount(
    events: list[tuple[float, str, dict[str, Any]]],
) -> dict[Key, dict[str, float]]:
    """The closed records that the three-day ``events`` must give once the end mark passed."""
    return recount([(c, e) for _, c, e in events], THREE_DAY_RULES, END_MARK - GRACE_SECONDS)


def records_env(
    topics: dict[str, str], app: str, queue_config: Path = RECORDS_QUEUES
) -> dict[str, str]:
    from tests.support.topology import topic_settings

    return topic_settings(topics, f"{app}.dlq") | {
        "CCMON_CLOCK": "stream",
        "CCMON_QUEUE_CONFIG": str(queue_config),
        "CCMON_TICK_INTERVAL_SECONDS": "1",
        "CCMON_RECORD_GRACE_SECONDS": str(GRACE_SECONDS),
        "CCMON_RECORD_REVISION_DAYS": "35",
    }


def source_records(
    topics: dict[str, str], events: list[tuple[float, str, dict[str, Any]]]
) -> list[tuple[str, bytes | None, bytes]]:
    """Kafka records of the events, keyed by contact (one contact's events in order)."""
    import orjson

    return [(topics[c], str(e["contact_id"]).encode(), orjson.dumps(e)) for _, c, e in events]


def end_mark(topics: dict[str, str]) -> list[tuple[str, bytes | None, bytes]]:
    """The event after the three days whose stream time closes every one of their periods."""
    import orjson

    event = {"event_id": "end-mark", "type": "offered", "queue": "sales",
             "contact_id": "end-mark", "occurred_at": round(END_MARK * 1000)}  # fmt: skip
    return [(topics["call"], b"end-mark", orjson.dumps(event))]


def three_day_sources(
    topics: dict[str, str], events: list[tuple[float, str, dict[str, Any]]]
) -> list[tuple[str, bytes | None, bytes]]:
    """The events' Kafka records, then the end mark."""
    return [*source_records(topics, events), *end_mark(topics)]


@dataclass
class ThreeDays:
    """A records test's three days: its source topics (made on Kafka), the workers'
    settings, the events and the records they must give."""

    topics: dict[str, str]
    env: dict[str, str]
    events: list[tuple[float, str, dict[str, Any]]]
    expected: dict[Key, dict[str, float]]

    @property
    def sources(self) -> list[tuple[str, bytes | None, bytes]]:
        return three_day_sources(self.topics, self.events)


def three_days(bootstrap: str, app: str, partitions: int = 3, seed: int = 26) -> ThreeDays:
    from tests.support.topology import create_source_topics

    topics = create_source_topics(bootstrap, app, partitions)
    events = three_day_events(seed)
    return ThreeDays(topics, records_env(topics, app), events, three_day_recount(events))


def latest_records(bootstrap: str, topic: str, first: str, last: str) -> dict[Key, dict[str, Any]]:
    """Every period's latest revision in [first, last] (local dates), as ccmon report reads."""
    import asyncio

    from ccmon.agents.report.reader import Want, read_latest

    want = Want(first, last, frozenset({"interval", "day"}))
    latest = asyncio.run(read_latest({"bootstrap_servers": bootstrap}, topic, want))
    return latest.records


def settled_records(
    bootstrap: str,
    topic: str,
    expected: set[Key],
    timeout: float = 180.0,
    want: Callable[[dict[Key, dict[str, Any]]], bool] = lambda found: True,
) -> dict[Key, dict[str, Any]]:
    """The records once every expected period has one, ``want`` holds and two reads a tick
    apart agree."""
    import time

    deadline = time.monotonic() + timeout
    previous: dict[Key, dict[str, Any]] | None = None
    while True:
        found = latest_records(bootstrap, topic, "2026-11-01", "2026-12-31")
        if expected <= set(found) and want(found) and found == previous:
            return found
        if time.monotonic() > deadline:
            missing = sorted(expected - set(found))[:5]
            raise AssertionError(f"records not settled: {len(missing)} missing, e.g. {missing}")
        previous = found
        time.sleep(2.0)


CHECKED = (
    *("offered", "answered", "answered_within", "abandoned", "abandoned_short"),
    *("abandoned_within", "blocked", "wait_ms", "waits_known", "ended", "handle_ms"),
    *("offered_closed", "answered_closed", "abandoned_closed", "tickets_created"),
    *("tickets_resolved", "tickets_reopened", "t_replies", "t_customer", "t_pending"),
)


def differences(
    expected: dict[Key, dict[str, float]], found: dict[Key, dict[str, Any]]
) -> list[str]:
    """What the closed records say otherwise than the recount."""
    out = []
    for key in sorted(set(expected) | set(found)):
        want, envelope = expected.get(key), found.get(key)
        if want is None and envelope is not None and not envelope["content"]["counts"]:
            continue  # a configured queue's day without traffic: a record, all zero
        if want is None or envelope is None:
            out.append(f"{key}: recount {want is not None}, record {envelope is not None}")
            continue
        content = envelope["content"]
        counts = content["counts"]
        for name in CHECKED:
            if float(counts.get(name, 0)) != want.get(name, 0.0):
                out.append(
                    f"{key} {name}: record {counts.get(name, 0)}, recount {want.get(name, 0)}"
                )
        if key[0] == "ticket":
            for promise, figure in content["promises"].items():
                for outcome in ("met", "missed"):
                    got, exp = figure[outcome], want.get(f"{outcome}:{promise}", 0.0)
                    if got != exp:
                        out.append(f"{key} {outcome} {promise}: record {got}, recount {exp}")
        else:
            mine = content["service_level"]["profiles"][content["service_level"]["profile"]]
            for part in ("good", "eligible"):
                if mine[part] != want.get(f"sl_{part}", 0.0):
                    out.append(
                        f"{key} sl {part}: record {mine[part]}, recount {want.get(f'sl_{part}', 0)}"
                    )
    return out
