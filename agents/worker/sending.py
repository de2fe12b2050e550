"""Sending records to the repartition topic: what ingest sends of a source batch, and what
hop 1 sends of a counting step (staff records), with one discipline.

- **Bounded.** A partition's records travel as JSON lists of at most
  :data:`MAX_EVENTS_PER_RECORD` events and about :data:`MAX_RECORD_BYTES`, well below
  Kafka's default 1 MB request, whatever the events hold.
- **In order.** A partition's chunks are sent one after the other, each once the previous
  one is acknowledged, and the caller sends its next batch only once this one is: records of
  one origin reach a partition in the order of their positions, which is what lets the
  counting side take a position at or below the last one it counted for a record read again
  (docs/architecture.md, "Idempotency"). Chunks sent together could land out of order when
  one fails and a later one does not.
- **Never dropped.** On a Kafka error the send waits (back-off up to 5 s, logged,
  ``ccmon_kafka_send_retries_total``) and sends again what was not acknowledged; the caller
  acknowledges its own input only after :meth:`RepartitionSender.send` returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from aiokafka.errors import KafkaError
from faust import TopicT
from faust.exceptions import ProducerSendError

log = logging.getLogger(__name__)

MAX_EVENTS_PER_RECORD = 2000
MAX_RECORD_BYTES = 512 * 1024
MAX_BACKOFF_SECONDS = 5.0
SEND_ERRORS = (KafkaError, ProducerSendError)

Send = Callable[[], Awaitable[Awaitable[Any]]]  # topic.send(...): queued, then acknowledged


def repartition_values(records: Iterable[dict[str, Any]]) -> list[bytes]:
    """JSON lists of at most MAX_EVENTS_PER_RECORD events and about MAX_RECORD_BYTES."""
    values: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    for record in records:
        encoded = orjson.dumps(record)
        if chunk and (
            len(chunk) == MAX_EVENTS_PER_RECORD or size + len(encoded) > MAX_RECORD_BYTES
        ):
            values.append(b"[" + b",".join(chunk) + b"]")
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        values.append(b"[" + b",".join(chunk) + b"]")
    return values


class RepartitionSender:
    def __init__(self, topic: TopicT, on_retry: Callable[[], None], what: str) -> None:
        self.topic = topic
        self.on_retry = on_retry  # ccmon_kafka_send_retries_total
        self.what = what  # for the log: "ingest", "staff records"

    async def send(
        self, by_partition: dict[int, list[dict[str, Any]]], others: Iterable[Send] = ()
    ) -> None:
        """Every partition's records, in order, and ``others`` (dead-letter records, in no
        particular order), until Kafka acknowledged all of them."""
        chains = {
            p: repartition_values(records) for p, records in sorted(by_partition.items()) if records
        }
        loose = list(others)
        delay = 0.1
        while chains or loose:
            chain_results = await asyncio.gather(
                *(self._chain(p, values) for p, values in chains.items())
            )
            # Every send settles before a resend, and every failure is retrieved: with a
            # plain gather the first one raised and the others were logged at garbage
            # collection as "exception was never retrieved", with a traceback each.
            loose_results = await asyncio.gather(
                *(self._one(send) for send in loose), return_exceptions=True
            )
            failed: BaseException | None = None
            left: dict[int, list[bytes]] = {}
            for (p, values), (done, error) in zip(chains.items(), chain_results, strict=True):
                if done < len(values):
                    left[p] = values[done:]  # acknowledged ones stay: they are in order
                    failed = failed or error
            unsent = []
            for send, result in zip(loose, loose_results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, SEND_ERRORS):
                        raise result
                    unsent.append(send)
                    failed = failed or result
            chains, loose = left, unsent
            if failed is None:
                return
            self.on_retry()
            log.warning("%s: Kafka send failed (%s); sending again", self.what, failed)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    async def _chain(self, partition: int, values: list[bytes]) -> tuple[int, BaseException | None]:
        """Send ``values`` one after the other; how many were acknowledged, and why the
        next was not."""
        for n, value in enumerate(values):
            try:
                await (await self.topic.send(value=value, partition=partition))
            except SEND_ERRORS as exc:
                return n, exc
        return len(values), None

    @staticmethod
    async def _one(send: Send) -> Any:
        return await (await send())
