"""Source records handed to their ingest task in batches, past Faust's streams.

Why: every source record went through Faust's conductor (an event decoded, a queue put),
a stream (``_c_aiter``: sensors, the task-local current event, the ``noack_take``
processor that fills a batch) and ``Stream.ack``, about a tenth of a worker's CPU in a
drain of 200,000 events (py-spy; docs/benchmarks.md, "Source records in batches"). The
ingest agents use none of it: they take raw bytes in batches, validate them themselves
and acknowledge a batch once Kafka holds what it produced.

The drain loop (ccmon.streams.kafka.drain) puts each fetched record of a source topic here
instead; the topic's ingest task takes batches of them. What Faust's streams guarantee is
kept:

- a record is tracked (the consumer's pending acknowledgements, which a rebalance waits
  for, and the sensors' ``on_message_in``) when the task takes it, and acknowledged with
  ``Consumer.ack`` once its batch is done: the commit never passes an unfinished record;
- a rebalance clears what waits here, with Faust's own stream buffers
  (``app.flow_control.clear()``): those records are read again from the committed offset
  by whoever owns their partition next;
- a record fetched under an older group generation, or taken while the flow is suspended,
  is never processed nor acknowledged (Faust's streams acknowledge such a record unread);
- the drain loop waits while the buffer is full, as it waits on a full stream queue.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

# The intakes of each app, by source topic name: the consumer finds them here.
_INTAKES: weakref.WeakKeyDictionary[Any, dict[str, Intake]] = weakref.WeakKeyDictionary()


def intakes_of(app: Any) -> dict[str, Intake]:
    """The source topics (by name) whose records go to an :class:`Intake` instead of
    Faust's streams."""
    found = _INTAKES.get(app)
    if found is None:
        found = _INTAKES[app] = {}
    return found


class Intake:
    """The fetched, not yet taken records of one source topic."""

    def __init__(self, app: Any, topic: str, capacity: int) -> None:
        self.app = app
        self.capacity = capacity
        self._records: list[Any] = []
        self._arrived = asyncio.Event()
        self._want = 1  # how many records wake the waiting task
        self._room = asyncio.Event()
        self._room.set()
        intakes_of(app)[topic] = self
        # Cleared with Faust's stream buffers when a rebalance begins (only .clear() is
        # called on what flow control manages).
        app.flow_control.manage_queue(self)

    def __len__(self) -> int:
        return len(self._records)

    def full(self) -> bool:
        return len(self._records) >= self.capacity

    def put(self, message: Any) -> None:
        self._records.append(message)
        if len(self._records) >= self._want:
            self._arrived.set()
        if self.full():
            self._room.clear()

    async def room(self) -> None:
        """Until a record may be put."""
        await self._room.wait()

    def clear(self) -> None:
        """Forget what waits (a rebalance begins): never tracked, never acknowledged."""
        self._records.clear()
        self._room.set()

    async def take(self, most: int, within: float) -> list[Any]:
        """Up to ``most`` records: once one has arrived, at most ``within`` seconds later
        (the latency a batch adds), sooner when ``most`` are there. Only records of the
        current group generation taken while the flow runs; each tracked."""
        while True:
            await self._until(1, None)
            await self._until(most, within)
            batch = self._records[:most]
            del self._records[:most]
            if not self.full():
                self._room.set()
            batch = self._current(batch)
            if batch:
                return batch

    async def _until(self, count: int, within: float | None) -> None:
        """Until ``count`` records wait here, or ``within`` seconds have passed. One wake-up
        per batch, not per record: ``put`` wakes the task only at ``count``."""
        if len(self._records) >= count:
            return
        self._want = count
        self._arrived.clear()
        try:
            await asyncio.wait_for(self._arrived.wait(), within)
        except TimeoutError:
            pass
        finally:
            self._want = 1

    def _current(self, batch: list[Any]) -> list[Any]:
        app = self.app
        if not app.flow_control.is_active():
            return []  # a rebalance is under way: read again from the committed offset
        generation = app.consumer_generation_id
        consumer = app.consumer
        taken = []
        for message in batch:
            if message.generation_id != generation:
                continue  # fetched before the last rebalance: read again, like the rest
            message.tracked = True
            consumer.track_message(message)
            taken.append(message)
        return taken

    def done(self, batch: list[Any]) -> None:
        """The batch's records may be committed."""
        ack = self.app.consumer.ack
        for message in batch:
            ack(message)
