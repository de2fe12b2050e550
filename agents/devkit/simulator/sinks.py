"""Where simulated events go: JSON-lines files (one per channel) or Kafka topics."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from ccmon.agents.devkit.simulator.engine import Event, format_time

# One file per channel, so `ccmon validate --channel X file` reads them without a wrapper.
FILE_SUFFIX = {"call": "calls", "chat": "chats", "ticket": "tickets", "agent": "agents"}
DEFAULT_TOPIC_PREFIX = "contact-center"


def default_topics(prefix: str = DEFAULT_TOPIC_PREFIX) -> dict[str, str]:
    return {channel: f"{prefix}.{suffix}" for channel, suffix in FILE_SUFFIX.items()}


class SinkError(RuntimeError):
    """Events could not be delivered."""


class Sink(Protocol):
    async def send(self, channel: str, event: Event) -> None: ...

    async def close(self) -> None: ...


class JsonlSink:
    """Appends to ``<dir>/<prefix>-calls.jsonl``, ``-chats.jsonl``, ``-tickets.jsonl``."""

    def __init__(self, directory: str | Path, prefix: str = "sim") -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"{directory}: cannot create directory ({exc.strerror})") from exc
        self.paths = {c: self.directory / f"{prefix}-{s}.jsonl" for c, s in FILE_SUFFIX.items()}
        self.files: dict[str, IO[bytes]] = {}
        try:
            for channel, path in self.paths.items():
                self.files[channel] = path.open("wb")
        except OSError as exc:
            for f in self.files.values():
                f.close()
            raise SinkError(f"{exc.filename}: cannot write ({exc.strerror})") from exc

    async def send(self, channel: str, event: Event) -> None:
        self.files[channel].write(orjson.dumps(event) + b"\n")

    async def close(self) -> None:
        for f in self.files.values():
            f.close()

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.paths.values())


class KafkaSink:
    """aiokafka producer keyed by contact_id (a contact's events stay in one partition, in
    order), batching with ``linger_ms``; delivery errors surface at the next send or at close.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Mapping[str, str] | None = None,
        *,
        linger_ms: int = 20,
        acks: int | str = "all",
        producer_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = dict(topics or default_topics())
        self.options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "linger_ms": linger_ms,
            "acks": acks,
            "max_batch_size": 256 * 1024,
        }
        self.factory = producer_factory
        self.producer: Any = None
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.error: BaseException | None = None

    async def start(self) -> None:
        if self.factory is None:
            from aiokafka import AIOKafkaProducer

            self.factory = AIOKafkaProducer
        self.producer = self.factory(**self.options)
        try:
            await self.producer.start()
        except Exception as exc:
            with contextlib.suppress(Exception):  # release the half-started client's sockets
                await self.producer.stop()
            self.producer = None
            raise SinkError(f"cannot connect to Kafka at {self.bootstrap}: {exc}") from exc

    def _done(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            self.failed += 1
        elif (exc := fut.exception()) is not None:
            self.failed += 1
            self.error = self.error or exc
        else:
            self.delivered += 1

    async def send(self, channel: str, event: Event) -> None:
        if self.error is not None:
            raise SinkError(f"Kafka delivery failed: {self.error}") from self.error
        # Agent events by agent: one agent's states stay in order (docs/events.md).
        key = str(event.get("contact_id") or event.get("agent_id")).encode()
        topic = self.topics.get(channel)
        if topic is None:  # a caller's own topic map without that channel: not sent
            return
        fut = await self.producer.send(topic, orjson.dumps(event), key=key)
        self.sent += 1
        fut.add_done_callback(self._done)

    async def close(self) -> None:
        if self.producer is None:
            return
        try:
            await self.producer.flush()
        finally:
            await self.producer.stop()
        if self.failed:
            raise SinkError(f"{self.failed} of {self.sent} events not delivered: {self.error}")

    def describe(self) -> str:
        return f"Kafka {self.bootstrap} ({', '.join(self.topics.values())})"


class Progress:
    """Prints one status line every ``interval`` wall seconds (0 disables)."""

    def __init__(self, interval: float = 5.0, report: Callable[[str], None] | None = None) -> None:
        self.interval = interval
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.began = time.monotonic()
        self.last = self.began
        self.last_count = 0

    def update(self, count: int, sim_time: float, sim_start: float) -> None:
        now = time.monotonic()
        if self.interval <= 0 or now - self.last < self.interval:
            return
        rate = (count - self.last_count) / (now - self.last)
        self.last, self.last_count = now, count
        self.report(self.line(count, rate, sim_time, sim_start))

    def finish(self, count: int, sim_time: float, sim_start: float) -> str:
        elapsed = max(time.monotonic() - self.began, 1e-9)
        return self.line(count, count / elapsed, sim_time, sim_start) + f" in {elapsed:.1f}s"

    @staticmethod
    def line(count: int, rate: float, sim_time: float, sim_start: float) -> str:
        offset = max(0, int(sim_time - sim_start))
        h, rest = divmod(offset, 3600)
        clock = format_time(sim_time, "rfc3339")
        return (
            f"simulate: {count:,} events ({rate:,.0f}/s), simulated time {clock} "
            f"(+{h}:{rest // 60:02d}:{rest % 60:02d})"
        )
