"""A week of contact-centre traffic, hour by hour, for the soak (``python -m bench soak``).

Contacts start uniformly over each simulated hour, each a whole lifecycle of the bench's
generator (:class:`bench.events.Generator`); the steps of a contact that fall in a later
hour (an answer after midnight, a ticket resolved the next morning) are carried to that
hour, so no lifecycle is cut at an hour's edge, only at the end of the week. Exact re-sends
are mixed into each hour as in the bench's preload (:func:`bench.events.resend`).

Everything produced is tallied twice: for the whole week (the cumulative counters) and for
the last simulated day (its "today" window).
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from dataclasses import dataclass, field

import orjson

from bench.events import TOPICS, Expected, Generator, Record, Timed, resend

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass
class Hour:
    day: int  # 1..days
    hour: int  # 0..23
    records: list[Record]
    events: int  # distinct events among the records (re-sends excluded)


@dataclass
class Week:
    """``days`` simulated UTC days of ``events_per_day`` events (about: whole lifecycles),
    ending at ``end`` (a UTC midnight in the past, so that no event is ahead of the wall
    clock), with a ``duplicates`` share of exact re-sends."""

    queues: list[str]
    prefix: str
    days: int
    events_per_day: int
    end: float
    duplicates: float = 0.05
    seed: int = 7
    total: Expected = field(default_factory=Expected)
    last_day: Expected = field(default_factory=Expected)

    def __post_init__(self) -> None:
        self.generator = Generator(self.queues, self.prefix, self.seed)
        self._resends = random.Random(self.seed + 1)
        self._later: list[tuple[float, int, Timed]] = []  # steps of contacts begun before
        self._order = itertools.count()
        self._started = 0

    @property
    def start(self) -> float:
        return self.end - self.days * DAY

    def hours(self) -> int:
        return self.days * 24

    def hour(self, index: int) -> Hour:
        """The records of simulated hour ``index`` (0-based), in event-time order."""
        begin = self.start + index * HOUR
        end = begin + HOUR
        last = index == self.hours() - 1
        target = self.events_per_day / 24
        timed: list[Timed] = []
        while self._later and self._later[0][0] < end:
            timed.append(heapq.heappop(self._later)[2])
        made = 0
        gen = self.generator
        while made < target:
            channel, queue = gen.pick(self._started)
            self._started += 1
            for step in gen.contact(channel, queue, gen.rng.uniform(begin, end)):
                made += 1
                if step[0] < end:
                    timed.append(step)
                elif not last:  # after the week: a contact still in progress at the end
                    heapq.heappush(self._later, (step[0], next(self._order), step))
        timed.sort(key=lambda e: e[0])
        # The Kafka timestamp is the time of producing: event times reach a week back, and
        # the broker's time retention (7 days by default) would delete records that old.
        now_ms = int(time.time() * 1000)
        records = []
        in_last_day = index >= self.hours() - 24
        for _, channel, event in timed:
            self.total.add(channel, event)
            if in_last_day:
                self.last_day.add(channel, event)
            body = orjson.dumps(event)
            records.append(Record(TOPICS[channel], event["contact_id"].encode(), body, now_ms))
        copies = round(len(records) * self.duplicates)
        resend(records, copies, self._resends)
        self.total.duplicates += copies
        return Hour(index // 24 + 1, index % 24, records, len(timed))
