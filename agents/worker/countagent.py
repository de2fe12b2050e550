"""The counting agent on a Faust app: batches of the repartition topic counted
(:mod:`ccmon.agents.worker.counting`) and acknowledged only when counted, the expiry timer,
and partition ownership following Kafka's assignments, with their group generation."""

from __future__ import annotations

from typing import Any, cast

import faust
from faust import StreamT
from faust.types import TP

from ccmon.agents.partitions.owner import Owner
from ccmon.agents.worker.closing import Closer
from ccmon.agents.worker.counting import Counting
from ccmon.agents.worker.runtime import Runtime
from ccmon.agents.worker.sending import RepartitionSender
from ccmon.streams.kafka.reread import PartitionReader
from ccmon.streams.kafka.topics import Topics


class KafkaGroup:
    """What the owner asks Kafka, through the worker's own consumer (its group, member id
    and generation: :mod:`ccmon.streams.kafka.transport`)."""

    def __init__(self, app: faust.App, topic: str) -> None:
        self.app = app
        self.topic = topic

    async def committed(self, partition: int) -> int | None:
        consumer = cast(Any, self.app.consumer)
        return cast(int | None, await consumer.committed_offset(TP(self.topic, partition)))

    async def is_current(self, generation: int) -> bool | None:
        consumer = cast(Any, self.app.consumer)
        return cast(bool | None, await consumer.generation_is_current(generation))


def release(consumer: Any, message: Any) -> None:
    """A refused partition's record: left unacknowledged, so no commit passes it while Kafka
    still assigns us the partition (whoever owns it next reads it again), but no longer
    awaited by a revocation.

    Faust's revocation waits until every record it delivered is acknowledged or gone
    (``Consumer.wait_empty`` over a weak set), and its stream iterator keeps the last event it
    delivered in a local variable until the next one arrives. A revocation suspends the
    streams, so when that event was of a refused partition it never went: the revocation
    waited for ever, and a paused owner woken after a take-over kept exporting the
    partitions it had lost (test_paused_owner failed 2 runs in 5 with the count agent's own
    references dropped: DEVELOPERS.md, pitfall 21). tests/unit/agents/worker/test_app.py
    fails if a release of Faust renames the set."""
    consumer._unacked_messages.discard(message)


def register_counting(app: faust.App, topics: Topics, runtime: Runtime, owner: Owner) -> Counting:
    settings = runtime.settings
    by_queue = topics.by_queue.get_topic_name()
    owner.group = KafkaGroup(app, by_queue)
    sender = RepartitionSender(topics.by_queue, runtime.pipeline.send_retries.inc, "staff records")

    def highwater(partition: int) -> int | None:
        try:
            return cast(int | None, cast(Any, app.consumer).highwater(TP(by_queue, partition)))
        except Exception:  # not assigned, not fetched yet: not known to be caught up
            return None

    closer = Closer(runtime, topics.records, highwater)
    counting = Counting(runtime, owner, sender, PartitionReader(settings, by_queue), closer)

    async def acknowledge(stream: StreamT[bytes], batch: list[Any], refused: set[int]) -> None:
        """Acknowledge the batch's events but those of refused partitions, which are
        released instead (:func:`release`)."""
        for event in batch:
            if event.message.partition in refused:
                release(app.consumer, event.message)
            else:
                await stream.ack(event)

    @app.agent(topics.by_queue, name="ccmon.count")
    async def count(stream: StreamT[bytes]) -> None:
        batches = runtime.batches(stream)
        async for batch in batches:
            with runtime.pipeline.batches.labels("count").time():
                refused = await counting.batch(batch)
                # A refused partition's records stay unacknowledged: nothing of it is
                # committed past them while Kafka still assigns it to us, and whoever owns
                # it next reads them again. They are dropped with the batch (Faust tracks
                # them weakly), so a revocation does not wait for them.
                await acknowledge(stream, batch, refused)
                # Dropped here, not when the next batch replaces it: a revocation suspends
                # the streams, so no next batch comes, and while this loop held them the
                # revocation waited for ever (a paused owner woken after a take-over kept
                # exporting the partitions it had lost: DEVELOPERS.md, pitfall 21).
                batch.clear()

    @app.timer(interval=settings.tick_interval_seconds, name="ccmon.expire")
    async def expire() -> None:
        with runtime.pipeline.batches.labels("expire").time():
            await counting.expire()

    # Faust sends these at the end of its rebalance handlers: after a revocation has waited
    # for every batch in flight to be acknowledged, before an assignment resumes streams.
    async def on_revoked(sender: Any, *args: Any, **kwargs: Any) -> None:
        revoked: set[Any] = args[0]
        gone = {tp.partition for tp in revoked if tp.topic == by_queue}
        owner.revoke(gone)
        closer.forget(gone)

    async def on_assigned(sender: Any, *args: Any, **kwargs: Any) -> None:
        # Actives only: the state of standby partitions is never kept. The generation is
        # the one of this assignment (Faust sets it before its rebalance handlers run, and
        # aiokafka awaits them before it could join another).
        actives = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == by_queue}
        owner.revoke(owner.assigned - actives)
        owner.assign(actives, int(app.consumer_generation_id or 0))

    cast(Any, app.on_partitions_revoked).connect(on_revoked)
    cast(Any, app.on_partitions_assigned).connect(on_assigned)

    return counting
