"""One test's topology: its topics, the settings that name them, its workers and, when the
test asks, a Prometheus that scrapes them and an Alertmanager.

The ``topology`` fixture (tests/conftest.py) makes one per test on the session's Kafka and
Redis, named after the test: the app id, the Redis prefix and every topic name. Tests on
services of their own (the fault suite) and the bench's phases name theirs with
:func:`source_topics` and :func:`topic_settings`, the one place the ``CCMON_TOPIC_*``
settings are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.kafka_io import create_topics
from tests.support.prometheus import prometheus_config
from tests.support.services import AlertmanagerServer, PrometheusServer
from tests.support.worker import Worker

TOPIC_SETTINGS = {
    "call": "CCMON_TOPIC_CALLS",
    "chat": "CCMON_TOPIC_CHATS",
    "ticket": "CCMON_TOPIC_TICKETS",
    "agent": "CCMON_TOPIC_AGENTS",
}
CONTACTS = ("call", "chat", "ticket")
EVERY_CHANNEL = (*CONTACTS, "agent")


def source_topics(name: str, channels: Iterable[str] = CONTACTS) -> dict[str, str]:
    """channel -> ``<name>.<channel>s``."""
    return {c: f"{name}.{c}s" for c in channels}


def create_source_topics(
    bootstrap: str, name: str, partitions: int, channels: Iterable[str] = CONTACTS
) -> dict[str, str]:
    """Create ``<name>.<channel>s`` for each channel on Kafka; channel -> topic."""
    topics = source_topics(name, channels)
    create_topics(bootstrap, topics.values(), partitions)
    return topics


def topic_settings(topics: Mapping[str, str], dead_letter: str | None) -> dict[str, str]:
    """The ``CCMON_TOPIC_*`` settings of these source topics (channel -> topic) and of the
    dead-letter topic (``None``: the default one)."""
    named = {TOPIC_SETTINGS[c]: t for c, t in topics.items()}
    return named | ({"CCMON_TOPIC_DEAD_LETTER": dead_letter} if dead_letter else {})


@dataclass
class Topology:
    kafka: str  # bootstrap servers
    redis: str  # URL
    name: str  # app id, Redis prefix, prefix of every topic
    workdir: Path
    start_prometheus: Callable[[Path], PrometheusServer] | None = None
    start_alertmanager: Callable[[Path], AlertmanagerServer] | None = None
    channels: tuple[str, ...] = CONTACTS
    settings: dict[str, str] = field(default_factory=dict)  # CCMON_* of every worker
    workers: list[Worker] = field(default_factory=list)

    @property
    def topics(self) -> dict[str, str]:
        return source_topics(self.name, self.channels)

    @property
    def dead_letter(self) -> str:
        return f"{self.name}.dlq"

    def create_topics(
        self, partitions: int, channels: tuple[str, ...] | None = None
    ) -> dict[str, str]:
        """Create the source topics (of ``channels``, from now on, if given); channel ->
        topic."""
        if channels is not None:
            self.channels = channels
        create_topics(self.kafka, self.topics.values(), partitions)
        return self.topics

    def queues(self, yaml_text: str) -> Path:
        """The workers' queue configuration (CCMON_QUEUE_CONFIG), written from ``yaml_text``."""
        path = self.workdir / "queues.yaml"
        path.write_text(yaml_text, encoding="utf-8")
        self.settings["CCMON_QUEUE_CONFIG"] = str(path)
        return path

    def env(self) -> dict[str, str]:
        return topic_settings(self.topics, self.dead_letter) | self.settings

    def worker(self, name: str = "w1", workdir: Path | None = None) -> Worker:
        """A worker of the topology (not started; stopped with it)."""
        worker = Worker(
            self.kafka, self.redis, workdir or self.workdir, self.name, env=self.env(), name=name
        )
        self.workers.append(worker)
        return worker

    def prometheus(
        self,
        rules: Path,
        *,
        job: str = "ccmon",
        interval: str = "2s",
        alertmanager: AlertmanagerServer | None = None,
    ) -> PrometheusServer:
        """A Prometheus of the test's own that scrapes the workers started so far."""
        assert self.start_prometheus is not None, "this topology has no Prometheus"
        config = prometheus_config(
            self.workdir / "prometheus",
            [w.url.removeprefix("http://") for w in self.workers],
            rules,
            job=job,
            interval=interval,
            alertmanager=alertmanager.url.removeprefix("http://") if alertmanager else None,
        )
        return self.start_prometheus(config)

    def alertmanager(self, config: Path) -> AlertmanagerServer:
        assert self.start_alertmanager is not None, "this topology has no Alertmanager"
        return self.start_alertmanager(config)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
