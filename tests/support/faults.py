"""Tools of the fault and security suite (tests/integration/faults/ and
tests/integration/security/; the figures are in docs/reliability.md):

- :class:`OwnService`: a Kafka or Redis of the test's own, to stop, restart and break (the
  session's services are shared by every other test and never touched);
- :class:`WatchedWorker`: a worker whose every /metrics output and whose log are searched
  for the contact and agent ids the suite sent (:data:`PERSONAL`);
- :func:`lifecycles`: contact-centre traffic whose contact and agent ids all carry one
  random marker, so that finding the marker anywhere finds any of them, whole or cut;
- :func:`read_back`: what the source topics really hold, for the exact recount (a producer
  that retried during an outage may have written a record twice: Kafka is the truth);
- :func:`fast_rules` and :class:`Prometheus`: the committed alert rules with only some
  `for:` shortened, on a real Prometheus, for tests that run in real time.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import re
import signal
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from alerts.build import load_config, render
from deploy.local import stack
from tests.support.golden import EVERYTHING
from tests.support.paths import ROOT
from tests.support.worker import Sample, Worker

Item = tuple[str, dict[str, Any]]  # (channel, event body)
Record = tuple[str, bytes | None, bytes]  # (topic, key, value)
GOLDEN_QUEUES = ROOT / "tests" / "integration" / "data" / "golden-queues.yaml"
QUEUES = ("sales", "billing", "care")  # the queues of golden-queues.yaml


# ---------------------------------------------------------------- services of one's own
@dataclass
class OwnService:
    """One Kafka or Redis in ``directory``, started by deploy.local.stack like the
    session's, that a test may stop and start again on the same port."""

    service: str
    directory: Path
    config: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self, keep_data: bool = False) -> float:
        """Start (with ``keep_data``: again, on its data dir and port); seconds it took."""
        began = time.monotonic()
        self.env = stack.start(
            self.service, self.directory, self.config, die_with_parent=True, keep_data=keep_data
        )
        return time.monotonic() - began

    def stop(self) -> str:
        return stack.stop(self.service, self.directory)

    def kill(self) -> None:
        """SIGKILL, as a crash does: nothing is flushed or saved on the way out."""
        pid = int(self.env[f"{self.service.upper()}_PID"])
        os.kill(pid, signal.SIGKILL)
        poll(f"{self.service} {pid} gone", lambda: _dead(pid), 10, 0.05)
        stack.stop(self.service, self.directory)  # forgets the pid file

    @property
    def bootstrap(self) -> str:
        return self.env["KAFKA_BOOTSTRAP"]

    @property
    def url(self) -> str:
        return self.env["REDIS_URL"]

    @property
    def log(self) -> Path:
        return Path(self.env["KAFKA_LOG"])


def _dead(pid: int) -> bool:
    """Gone, or a zombie (a child of ours that nobody reaped yet: it holds no port)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# ---------------------------------------------------------------- personal data
class PersonalData:
    """Contact and agent ids of the suite. Every one holds :attr:`marker`, a random token
    of this session that no topic, queue, event id or setting contains, so one search for
    the marker finds any id the suite sent, even cut short."""

    def __init__(self) -> None:
        self.marker = f"pd{uuid.uuid4().hex[:10]}"

    def contact(self, n: int | str) -> str:
        return f"{self.marker}c{n}"

    def agent(self, n: int | str) -> str:
        return f"agent-{self.marker}a{n}"

    def found_in(self, text: str, where: str) -> list[str]:
        return [
            f"{where}: ...{text[max(0, m.start() - 60) : m.end() + 60]!r}..."
            for m in re.finditer(re.escape(self.marker), text)
        ][:5]


PERSONAL = PersonalData()


class WatchedWorker(Worker):
    """A worker of the suite: each /metrics output it serves is searched for personal data
    as it is read; :meth:`leaks` adds the log."""

    scanned_outputs = 0
    found: list[str]

    def metrics_text(self, timeout: float = 30.0) -> str:
        text = super().metrics_text(timeout)
        self.scanned_outputs += 1
        if not hasattr(self, "found"):
            self.found = []
        self.found += PERSONAL.found_in(text, f"/metrics of {self.name}")
        return text

    def leaks(self) -> list[str]:
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [*getattr(self, "found", []), *PERSONAL.found_in(log, f"log of {self.name}")]


class Watch:
    """The workers of one test; its fixture fails the test at teardown when any of their
    /metrics outputs or logs holds a contact or agent id."""

    def __init__(self, workdir: Path, app_id: str) -> None:
        self.workdir, self.app_id = workdir, app_id
        self.workers: list[WatchedWorker] = []

    def worker(
        self, kafka: str, redis: str, env: dict[str, str], name: str = "w1"
    ) -> WatchedWorker:
        w = WatchedWorker(kafka, redis, self.workdir, self.app_id, env=env, name=name)
        self.workers.append(w)
        return w

    def leaks(self) -> list[str]:
        return [line for w in self.workers for line in w.leaks()]

    def stop_all(self) -> None:
        for w in self.workers:
            w.stop()


# ---------------------------------------------------------------- traffic
def worker_env(topics: dict[str, str], app_id: str, **extra: str) -> dict[str, str]:
    return {
        "CCMON_TOPIC_CALLS": topics["call"],
        "CCMON_TOPIC_CHATS": topics["chat"],
        "CCMON_TOPIC_TICKETS": topics["ticket"],
        "CCMON_TOPIC_DEAD_LETTER": f"{app_id}.dlq",
        "CCMON_CLOCK": "stream",
        "CCMON_QUEUE_CONFIG": str(GOLDEN_QUEUES),
        "CCMON_TICK_INTERVAL_SECONDS": "3600",
        # Every window and family: the recount checks every number a worker can export.
        **EVERYTHING,
        **extra,
    }


def source_topics(name: str) -> dict[str, str]:
    return {c: f"{name}.{c}s" for c in ("call", "chat", "ticket")}


def lifecycles(
    seed: int, contacts: int, end: float, span: float, prefix: str, start: int = 0
) -> list[Item]:
    """Whole contacts (offered, answered or abandoned with the wait given, ended; tickets
    created and resolved; a few blocked, a few still waiting) over ``span`` seconds before
    ``end``, in time order. Event ids start with ``prefix``; no count depends on which
    worker saw an offer, and every contact and agent id carries the personal-data marker."""
    rng = random.Random(seed)
    timed: list[tuple[float, str, dict[str, Any]]] = []

    def add(channel: str, base: dict[str, Any], kind: str, at: float, **extra: Any) -> None:
        at = min(at, end)  # never ahead of the wall clock (that is rejected)
        body = {**base, "event_id": f"{base['event_id']}-{kind}", "type": kind}
        timed.append((at, channel, {**body, "occurred_at": int(at * 1000), **extra}))

    for n in range(start, start + contacts):
        channel = rng.choice(("call", "call", "chat", "ticket"))
        t = end - span + rng.random() * (span - 60)
        base = {
            "event_id": f"{prefix}{n}",
            "queue": rng.choice(QUEUES),
            "contact_id": PERSONAL.contact(f"{prefix}{n}"),
        }
        agent = PERSONAL.agent(rng.randrange(40))
        if channel == "ticket":
            add(channel, base, "created", t)
            if rng.random() < 0.7:
                add(channel, base, "resolved", t + rng.uniform(5, 50), agent_id=agent)
            continue
        roll = rng.random()
        if roll < 0.04:
            add(channel, base, "blocked", t, reason=rng.choice(("trunks_busy", "queue_full")))
            continue
        add(channel, base, "offered", t, agent_id="")
        if roll > 0.97:
            continue  # still waiting
        wait = round(rng.expovariate(1 / 25), 3)
        if roll < 0.15:
            add(channel, base, "abandoned", t + wait, wait_seconds=wait)
            continue
        add(channel, base, "answered", t + wait, wait_seconds=wait, agent_id=agent)
        talk = round(rng.uniform(30, 300), 3)
        add(channel, base, "ended", t + wait + 20, talk_seconds=talk, agent_id=agent)
    timed.sort(key=lambda x: x[0])
    return [(channel, body) for _, channel, body in timed]


def as_records(topics: dict[str, str], items: Iterable[Item]) -> list[Record]:
    """Keyed by contact, as ACDs do: a contact's events stay in order on one partition."""
    return [
        (topics[channel], str(body["contact_id"]).encode(), orjson.dumps(body))
        for channel, body in items
    ]


def read_back(bootstrap: str, topics: dict[str, str], timeout: float = 60.0) -> list[Item]:
    """Every event of the source topics, partition by partition in offset order (each
    contact lives on one partition, so its events keep their order); values that are no
    JSON object are left out (the worker dead-letters them)."""
    channel_of = {t: c for c, t in topics.items()}

    async def run() -> list[Item]:
        # auto_offset_reset="earliest" as well as the seek: aiokafka resets a freshly
        # assigned partition with the default strategy (latest) in a task of its own, and
        # when that lookup answers after seek_to_beginning's, the position lands on the end
        # offset and nothing is read (seen once in ~10 runs of the Redis outage test).
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            parts = []
            for t in topics.values():
                known = consumer.partitions_for_topic(t) or await _partitions(consumer, t)
                assert known, f"{t}: no partitions known to {bootstrap}"
                parts += [TopicPartition(t, p) for p in sorted(known)]
            consumer.assign(parts)
            ends = await consumer.end_offsets(parts)
            assert sum(ends.values()) > 0, f"nothing in {sorted(topics.values())}: {ends}"
            await consumer.seek_to_beginning(*parts)
            out: dict[TopicPartition, list[bytes]] = {tp: [] for tp in parts}
            deadline = time.monotonic() + timeout
            while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                if time.monotonic() > deadline:
                    raise AssertionError("source topics not read back in time")
                batch = await consumer.getmany(timeout_ms=500)
                for tp, messages in batch.items():
                    out[tp].extend(m.value or b"" for m in messages if m.offset < ends[tp])
            read = sum(len(v) for v in out.values())
            starts = await consumer.beginning_offsets(parts)
            expected = sum(ends[tp] - starts[tp] for tp in parts)
            assert read == expected, f"read {read} of the {expected} records in {ends}"
        finally:
            await consumer.stop()
        return [(channel_of[tp.topic], b) for tp in parts for v in out[tp] if (b := _object(v))]

    return asyncio.run(run())


def _object(value: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return set(consumer.partitions_for_topic(topic) or ())


class Producer:
    """Sends records through outages: connected first (a producer cannot bootstrap from a
    stopped broker), then in the background at ``per_second``; every send that fails is
    sent again, so a record may land twice (:func:`read_back` tells)."""

    def __init__(self, bootstrap: str, records: list[Record], per_second: float | None = None):
        self.bootstrap, self.records, self.per_second = bootstrap, records, per_second
        self.retried = 0
        self.error: BaseException | None = None
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Producer:
        self._thread.start()
        if not self._connected.wait(60) or self.error is not None:
            raise AssertionError(f"producer did not connect: {self.error!r}")
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the producer never got every acknowledgement"
        assert self.error is None, self.error

    def send_all(self) -> None:
        self.start()
        self.join(300)

    def _run(self) -> None:
        try:
            asyncio.run(self._send())
        except BaseException as exc:
            self.error = exc
            self._connected.set()

    async def _send(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            request_timeout_ms=120_000,
            max_request_size=4 * 1024 * 1024,
        )
        await producer.start()
        self._connected.set()
        try:
            pending = list(self.records)
            while pending:
                futures = []
                began = time.monotonic()
                for i, (t, k, v) in enumerate(pending):
                    if self.per_second:
                        await asyncio.sleep(
                            max(0.0, began + i / self.per_second - time.monotonic())
                        )
                    futures.append(await producer.send(t, value=v, key=k))
                results = await asyncio.gather(*futures, return_exceptions=True)
                pending = [
                    r for r, res in zip(pending, results, strict=True) if isinstance(res, Exception)
                ]
                self.retried += len(pending)
        finally:
            await producer.stop()


# ---------------------------------------------------------------- waiting and reading
def poll(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll until ``check`` returns something truthy; its value. Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (OSError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f}s" + (f" ({last!r})" if last else ""))


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    want = tuple(sorted(labels.items()))
    return sum(v for (n, ls), v in samples.items() if n == name and (not labels or ls == want))


def total(samples: dict[Any, float], name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def per_queue_counters(samples: dict[Sample, float]) -> dict[Sample, float]:
    """The per-queue cumulative counters: what a count that slipped through would change."""
    return {k: v for k, v in samples.items() if k[0].endswith("_total") and "queue" in dict(k[1])}


# ---------------------------------------------------------------- Prometheus
def fast_rules(
    directory: Path, fast: dict[str, str], pipeline: dict[str, Any] | None = None
) -> Path:
    """alerts/config.yaml rendered with these alerts' `for:` shortened and, with
    ``pipeline``, some pipeline limits lowered to the size of a test; nothing else."""
    config = copy.deepcopy(load_config())
    for name, duration in fast.items():
        assert name in config["for"], name
        config["for"][name] = duration
    for key, limit in (pipeline or {}).items():
        assert key in config["pipeline"], key
        config["pipeline"][key] = limit
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ccmon.rules.yml"
    path.write_text(render(config), encoding="utf-8")
    return path


def prometheus_config(directory: Path, targets: list[str], rules: Path) -> Path:
    """Scrapes the workers (job ccmon, as the rules expect) every second."""
    path = directory / "prometheus.yml"
    path.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{rules}]\n"
        "scrape_configs:\n"
        f"  - {{job_name: ccmon, static_configs: [{{targets: {targets}}}]}}\n",
        encoding="utf-8",
    )
    return path


@dataclass
class Prometheus:
    url: str

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=5) as r:
            body = orjson.loads(r.read())
        return [
            a
            for a in body["data"]["alerts"]
            if a["labels"].get("alertname") == name and a["state"] == state
        ]

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            return list(orjson.loads(r.read())["data"]["result"])
