"""Fixtures of the fault and security suite: services of the test's own, and workers
watched for personal data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.personal import Watch
from tests.support.services import OwnService


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Callable[..., OwnService]]:
    """``own("kafka")``, ``own("redis", config)``: a service of this test's own, started;
    stopped at teardown whatever the test did to it."""
    started: list[OwnService] = []

    def start(service: str, config: Path | None = None) -> OwnService:
        directory = tmp_path / f"own-{service}-{len(started) + 1}"
        server = OwnService(service, directory, config)
        started.append(server)
        server.start()
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def watch(tmp_path: Path, unique_name: str) -> Iterator[Watch]:
    """Workers whose every /metrics output and log must hold no contact or agent id."""
    watched = Watch(tmp_path, unique_name)
    yield watched
    watched.stop_all()
    leaks = watched.leaks()
    assert not leaks, "personal data in /metrics or worker logs:\n" + "\n".join(leaks)
