"""Personal data must never leave the worker: the fault and security suite sends contact
and agent ids that all carry one random marker, and searches every /metrics output and
every worker log for it (:class:`Watch`, the ``watch`` fixture of tests/integration)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from tests.support.topology import CONTACTS, create_source_topics
from tests.support.worker import Worker


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

    def source_topics(
        self, kafka: str, partitions: int, channels: Iterable[str] = CONTACTS
    ) -> dict[str, str]:
        """The test's source topics, named after it, made on ``kafka``; channel -> topic."""
        return create_source_topics(kafka, self.app_id, partitions, channels)

    def leaks(self) -> list[str]:
        return [line for w in self.workers for line in w.leaks()]

    def stop_all(self) -> None:
        for w in self.workers:
            w.stop()
