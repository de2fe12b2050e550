"""Exact re-sends of events, as a producer's retry or a webhook's replay sends them, and how
many a list holds: what ccmon must count as duplicates, whatever else it reads twice (a
rebalance or a restart reads records again: replays, not duplicates)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from tests.support.kafka_io import Item


def with_resends(items: list[Item], share: float, seed: int) -> list[Item]:
    """``items`` with exact re-sends of a ``share`` of them, each 1 to 200 items after its
    original: the same body, hence the same event id and event time."""
    rng = random.Random(seed)
    later: dict[int, list[Item]] = {}
    for i in rng.sample(range(len(items)), round(len(items) * share)):
        later.setdefault(min(i + rng.randint(1, 200), len(items) - 1), []).append(items[i])
    return [x for i, item in enumerate(items) for x in (item, *later.get(i, ()))]


def resends_in(items: Iterable[Item]) -> int:
    """Items that repeat an earlier (channel, event id)."""
    seen: set[tuple[str, str]] = set()
    repeats = 0
    for channel, body in items:
        key = (channel, str(body["event_id"]))
        repeats += key in seen
        seen.add(key)
    return repeats
