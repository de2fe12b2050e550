"""The consumer's drain loop, which hands fetched records to the streams: Faust's loop, except
that a record whose delivery cannot wait is delivered inline.

Why: Faust delivers every record through ``Service.wait_first(callback(message),
suspend_flow.wait())``, so that a rebalance can abandon a delivery that waits on a full
stream buffer. ``wait_first`` creates four tasks (the delivery, the suspension, the
service's stopped and crashed events), waits on them and cancels three, per source record,
and hands over one record per event-loop iteration: without it a 200k-event drain ran 4,419
-> 6,590 events/s back to back, a third less time per event. The delivery
(``TopicConductor.on_message``) waits only on flow control (suspended during a rebalance),
on the producer buffer above its limit, on the conductor's subscription lock, or on a full
stream queue. When none of them holds, the delivery finishes without suspending, so
awaiting it directly is the same as Faust's path minus its cost, and when any of them holds
Faust's path is taken unchanged.

A record of a source topic that has an intake (the ingest agents' topics) skips Faust's
delivery and streams altogether: it goes to its :class:`~ccmon.streams.kafka.intake.Intake`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING

from ccmon.streams.kafka.intake import Intake, intakes_of

YIELD_EVERY = 100  # records handed over between two yields to the event loop, as Faust's


class InlineDelivery:
    """Mixed into a Faust ``Consumer``; replaces its ``_drain_messages``."""

    app: Any
    suspend_flow: Any
    callback: Any
    consumer_stopped_errors: Any
    _read_offset: Any
    _stopped: Any
    _commit_every: int | None
    _n_acked: int

    def delivers_at_once(self, topic: str) -> bool:
        """True when delivering a record of ``topic`` cannot suspend (module docstring)."""
        app = self.app
        if self.suspend_flow.is_set() or not app.flow_control.is_active():
            return False
        conductor = app.topics
        if conductor._tp_to_callback_lock.locked():
            return False
        buffer = app.producer.buffer
        if buffer.size > buffer.max_messages:
            return False
        return not any(chan.queue.full() for chan in conductor._topic_name_index.get(topic, ()))

    async def _to_intake(self, intake: Intake, message: Any) -> bool:
        """Hand a source record to its ingest task (ccmon.streams.kafka.intake) when it
        may: as Faust's delivery, it waits while the flow is suspended and while the
        buffer is full, and gives up when a rebalance stops the consumer's flow (the
        record is read again from the committed offset). False: not handed over."""
        me: Any = self
        flow = self.app.flow_control
        stopped = self.suspend_flow
        while not stopped.is_set() and (not flow.is_active() or intake.full()):
            if not flow.is_active():
                await me.wait_first(flow.acquire(), stopped.wait())
            else:
                await me.wait_first(intake.room(), stopped.wait())
        if stopped.is_set() or message.generation_id != self.app.consumer_generation_id:
            return False
        intake.put(message)
        return True

    async def _drain_messages(self, fetcher: Any) -> None:
        me: Any = self
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        intakes = intakes_of(self.app)
        since_yield = 0
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):
                me.diag.set_flag(CONSUMER_FETCHING)
                records = me.getmany(timeout=1.0)
                await me.sleep(0)  # getmany can return at once, again and again
                if me.should_stop:
                    continue
                async for tp, message in records:
                    since_yield += 1
                    if since_yield > YIELD_EVERY:
                        await asyncio.sleep(0)
                        since_yield = 0
                    offset = message.offset
                    last = read_offset[tp]
                    if last is not None and offset < last:
                        continue  # read again after a seek: delivered already
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        await me._add_gap(tp, last + 1, offset)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await me.commit()
                    intake = intakes.get(message.topic)
                    if intake is not None:
                        if not await self._to_intake(intake, message):
                            continue  # not handed over: read again after the rebalance
                    elif self.delivers_at_once(message.topic):
                        await callback(message)
                    else:
                        await me.wait_first(callback(message), self.suspend_flow.wait())
                    read_offset[tp] = offset
                me.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if me.transport.app.should_stop:
                me.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if me.transport.app.should_stop:
                me.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            me.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            me.diag.unset_flag(CONSUMER_FETCHING)
