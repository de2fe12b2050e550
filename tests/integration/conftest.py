"""Fixtures of the fault and security suite: services of the test's own, workers watched
for personal data, and a Prometheus that alerts on them within the test's time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.expect import Measured
from tests.support.personal import Watch
from tests.support.prometheus import Prometheus, fast_rules, prometheus_config
from tests.support.services import OwnService, PrometheusServer
from tests.support.worker import Worker


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


@pytest.fixture
def measured(record_property: Callable[[str, Any], None]) -> Measured:
    """``measured(what, figures)``: report a test's measured figures (tests.support.expect)."""

    def report(what: str, figures: dict[str, Any]) -> None:
        record_property("figures", figures)
        print(f"{what} figures: {figures}")

    return report


@pytest.fixture
def alerting_on(
    tmp_path: Path, prometheus_factory: Callable[[Path], PrometheusServer]
) -> Callable[..., Prometheus]:
    """``alerting_on(worker, {alert: "5s"}, pipeline)``: a Prometheus of the test's own that
    scrapes ``worker`` every second with the committed rules, these alerts' ``for:``
    shortened and, with ``pipeline``, some pipeline limits lowered."""

    def start(
        worker: Worker, fast: dict[str, str], pipeline: dict[str, Any] | None = None
    ) -> Prometheus:
        rules = fast_rules(tmp_path / "rules", fast, pipeline)
        target = worker.url.removeprefix("http://")
        return Prometheus(
            prometheus_factory(prometheus_config(tmp_path, [target], rules, interval="1s")).url
        )

    return start
