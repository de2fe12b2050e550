"""The wall server's copy of the read model, kept current from Redis.

Three things wake the refresher: a worker's notification after each publication (the
documents it names are read at once: a value reaches the screens milliseconds after it was
published), a one-second tick (the index is read, and any document the notifications
missed), and the start. One refresher does all Redis reads, so a burst of notifications
costs one read each, never a pile of concurrent ones.

What the wall remembers of a queue whose document has expired (its worker stopped) is its
last document and publication time: the screen shows it greyed as "delayed since", never
as live, and takes it back the moment a worker publishes it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from redis.exceptions import RedisError

from ccmon.agents.wall.tiles import Tile, build_tile, trend
from ccmon.streams.store import livemodel
from ccmon.streams.store.connect import RedisClient, get_many

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
REDIS_TIMEOUT_SECONDS = 2.0
RESUBSCRIBE_SECONDS = 1.0


INTERVALS_SECONDS = 10.0  # the day's closed intervals change every 15 or 30 minutes


@dataclass
class Entry:
    doc: dict[str, Any] | None
    published_at: float
    # The day's closed interval records of the queue (docs/metrics.md, "Closed records"):
    # (local day, {local start: summary}).
    intervals: tuple[str, dict[str, Any]] | None = None


@dataclass
class Feed:
    """``stale_after``: a document not republished for this long is delayed (the workers
    republish every second; docs/wall.md, "Honest about old data")."""

    redis: RedisClient
    prefix: str
    stale_after: float
    clock: Callable[[], float] = time.time
    entries: dict[str, Entry] = field(default_factory=dict)
    source_ok: bool = False
    source_error: str = "not read yet"
    version: int = 0
    refreshes: int = 0
    redis_errors: int = 0  # failed reads and lost subscriptions (the wall's /metrics)
    agent_board: bool = False  # read the agent board's documents too, on the tick
    agents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by partition
    _pending: set[str] = field(default_factory=set)
    _full: bool = True
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _tiles: tuple[tuple[int, int], list[Tile]] | None = None
    _intervals_read: float = 0.0

    # ---- reading --------------------------------------------------------------------------

    async def _timed(self, call: Awaitable[Any]) -> Any:
        return await asyncio.wait_for(call, REDIS_TIMEOUT_SECONDS)

    async def _read_index(self, now: float) -> dict[str, float]:
        rows = await self._timed(
            self.redis.zrangebyscore(
                livemodel.index_key(self.prefix),
                now - livemodel.INDEX_HORIZON_SECONDS,
                "+inf",
                withscores=True,
            )
        )
        return {(m.decode() if isinstance(m, bytes) else str(m)): float(s) for m, s in rows}

    async def _read_docs(self, members: list[str]) -> None:
        if not members:
            return
        keys = [livemodel.member_key(self.prefix, m) for m in members]
        values = await self._timed(get_many(self.redis, keys))
        for name, raw in zip(members, values, strict=True):
            if raw is None:
                continue  # expired: keep what we had, it goes stale by its age
            try:
                doc = orjson.loads(raw)
                published = float(doc["published_at"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("unreadable read-model document %s", name)
                continue
            # A new document keeps the queue's closed intervals: they are read every 10 s,
            # documents many times a second, and a tile's bars must not blink in between.
            known = self.entries.get(name)
            self.entries[name] = Entry(doc, published, known.intervals if known else None)

    async def _read_agents(self, now: float) -> None:
        """The agent board's documents, one per partition of a worker with CCMON_AGENT_BOARD;
        an expired one (its worker stopped) leaves its agents off the board."""
        rows = await self._timed(
            self.redis.zrangebyscore(
                livemodel.agents_index_key(self.prefix), now - self.stale_after, "+inf"
            )
        )
        names = [m.decode() if isinstance(m, bytes) else str(m) for m in rows]
        keys = [livemodel.agents_key(self.prefix, int(n)) for n in names if n.isdigit()]
        values = await self._timed(get_many(self.redis, keys)) if keys else []
        found: dict[str, list[dict[str, Any]]] = {}
        for key, raw in zip(keys, values, strict=True):
            try:
                doc = orjson.loads(raw) if raw is not None else None
            except orjson.JSONDecodeError:
                doc = None
            if isinstance(doc, dict) and isinstance(doc.get("agents"), list):
                found[key] = [a for a in doc["agents"] if isinstance(a, dict)]
        self.agents = found

    def agent_rows(self) -> list[dict[str, Any]]:
        return [row for rows in self.agents.values() for row in rows]

    async def refresh(self, members: set[str] | None) -> None:
        """``members`` None: read the index and whatever it says we do not have yet."""
        now = self.clock()
        if members is None:
            index = await self._read_index(now)
            wanted = []
            for name, score in index.items():
                entry = self.entries.get(name)
                if entry is None:
                    self.entries[name] = Entry(None, score)
                    wanted.append(name)
                elif score > entry.published_at + 1e-6:
                    wanted.append(name)
            horizon = now - livemodel.INDEX_HORIZON_SECONDS
            for name in [n for n, e in self.entries.items() if e.published_at < horizon]:
                del self.entries[name]
            await self._read_docs(wanted)
            if now - self._intervals_read >= INTERVALS_SECONDS:
                await self._read_intervals(now)
                self._intervals_read = now
            if self.agent_board:
                await self._read_agents(now)
        else:
            await self._read_docs(sorted(members))

    async def _read_intervals(self, now: float) -> None:
        """Each queue's closed intervals of its local today: one HGETALL per queue."""
        asked = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for name, entry in self.entries.items():
                tz = entry.doc.get("timezone") if entry.doc else None
                if not isinstance(tz, str):
                    continue
                try:
                    day = datetime.fromtimestamp(now, ZoneInfo(tz)).date().isoformat()
                except (ZoneInfoNotFoundError, ValueError):
                    continue
                channel, queue = livemodel.split_member(name)
                pipe.hgetall(livemodel.intervals_key(self.prefix, channel, queue, day))
                asked.append((name, day))
            replies = await self._timed(pipe.execute()) if asked else []
        for (name, day), reply in zip(asked, replies, strict=True):
            rows = {}
            for start, raw in reply.items():
                with contextlib.suppress(orjson.JSONDecodeError):
                    rows[start.decode() if isinstance(start, bytes) else str(start)] = orjson.loads(
                        raw
                    )
            if name in self.entries:
                self.entries[name].intervals = (day, rows)

    # ---- the refresher and the subscription -------------------------------------------------

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def refresher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            full, pending = self._full, self._pending
            self._full, self._pending = False, set()
            try:
                await self.refresh(None if full else pending)
            except (RedisError, OSError, TimeoutError) as exc:
                self.redis_errors += 1
                self._full = True  # read everything again once Redis answers
                if self.source_ok:
                    log.warning("read model unreachable: %r", exc)
                self.source_ok, self.source_error = False, f"Redis: {exc!r}"[:200]
            else:
                self.source_ok, self.source_error = True, ""
                self.refreshes += 1
            await self._bump()

    async def ticker(self) -> None:
        while True:
            self._full = True
            self._wake.set()
            await asyncio.sleep(TICK_SECONDS)

    async def subscriber(self) -> None:
        channel = livemodel.notify_channel(self.prefix)
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                while True:
                    # Below the client's socket timeout, so that a quiet channel is no error.
                    message = await pubsub.get_message(timeout=TICK_SECONDS)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        names = orjson.loads(message["data"])
                    except orjson.JSONDecodeError:
                        continue
                    self._pending.update(n for n in names if isinstance(n, str))
                    self._wake.set()
            except (RedisError, OSError) as exc:
                self.redis_errors += 1
                log.debug("notifications lost, resubscribing: %r", exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)  # the tick keeps the screens current

    def tasks(self) -> list[Callable[[], Coroutine[Any, Any, None]]]:
        return [self.refresher, self.ticker, self.subscriber]

    # ---- what the screens get -----------------------------------------------------------------

    async def wait_newer(self, version: int, seconds: float) -> int:
        """The version after ``version``, or the current one after ``seconds``."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version > version), seconds
                )
            return self.version

    def tiles(self) -> list[Tile]:
        """Every known queue's tile, as of now; cached per version and second."""
        now = self.clock()
        key = (self.version, int(now))
        if self._tiles is not None and self._tiles[0] == key:
            return self._tiles[1]
        tiles = []
        for name, entry in self.entries.items():
            channel, queue = livemodel.split_member(name)
            tile = build_tile(channel, queue, entry.doc, entry.published_at, now, self.stale_after)
            tile["trend"] = trend(entry.intervals)
            if not self.source_ok:
                tile["live"] = False  # what Redis holds now is unknown
            tiles.append(tile)
        self._tiles = (key, tiles)
        return tiles
