"""Redis with an ACL user and TLS: Debian's redis-server 7.0 is built with TLS (it links
libssl; `redis-server --tls-port` works), so the worker is tested on `rediss://` with
mutual TLS, as an ACL user allowed only the keys under its prefix (which also proves ccmon
touches nothing else in a shared Redis). The default user is off: no unauthenticated
access, and a wrong password is reported, not counted past (docs/operations.md, "Redis
security")."""

from __future__ import annotations

import signal
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from ccmon.agents.devkit.procs import free_port
from tests.support import certs
from tests.support.expect import per_queue_counters, poll, sample, wait_until_equal
from tests.support.golden import expected_samples_of, golden_env, recount_events
from tests.support.kafka_io import Producer
from tests.support.personal import Watch
from tests.support.services import KafkaServer, OwnService
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration

USER, PASSWORD = "ccmon-worker", "another-s3cret-for-the-test"


def _config(directory: Path, made: certs.Certificates, prefix: str, tls_port: int) -> Path:
    path = directory / "secure-redis.conf"
    path.write_text(
        # Dangerous commands (FLUSHALL, KEYS, CONFIG, DEBUG, ...) and every key outside the
        # worker's prefix (the partitions' keys start with "{prefix:") are refused: the
        # worker needs neither.
        f"user default off\nuser {USER} on >{PASSWORD} ~{prefix}:* ~{{{prefix}:* &* "
        "+@all -@dangerous\n"
        f"tls-port {tls_port}\ntls-cert-file {made.server_cert}\n"
        f"tls-key-file {made.server_key}\ntls-ca-cert-file {made.ca}\n"
        "tls-auth-clients yes\n",
        encoding="utf-8",
    )
    return path


def _url(made: certs.Certificates, port: int, password: str = PASSWORD) -> str:
    query = urllib.parse.urlencode(
        {
            "ssl_ca_certs": made.ca,
            "ssl_certfile": made.client_cert,
            "ssl_keyfile": made.client_key,
            "ssl_cert_reqs": "required",
        }
    )
    return f"rediss://{USER}:{urllib.parse.quote(password)}@127.0.0.1:{port}/0?{query}"


@pytest.fixture
def acl_redis(
    own: Callable[..., OwnService], tmp_path: Path, unique_name: str
) -> Callable[..., str]:
    """A Redis of the test's own, TLS only, with the ACL user; ``acl_redis(password)`` is
    its URL (with the user's own password by default)."""
    made = certs.make(tmp_path / "certs")
    port = free_port()
    own("redis", _config(tmp_path, made, unique_name, port))
    return lambda password=PASSWORD: _url(made, port, password)


def test_worker_on_redis_tls_as_an_acl_user_counts_exactly(
    kafka: KafkaServer,
    watch: Watch,
    unique_name: str,
    acl_redis: Callable[..., str],
) -> None:
    url = acl_redis()
    anonymous = url.replace(f"{USER}:{PASSWORD}@", "")
    with pytest.raises(redis.AuthenticationError):  # the default user is off
        redis.Redis.from_url(anonymous).ping()
    topics = watch.source_topics(kafka.bootstrap, 2)
    env = golden_env(topics, unique_name, CCMON_TICK_INTERVAL_SECONDS="1")
    worker = watch.worker(kafka.bootstrap, url, env).start()
    events = lifecycles(seed=61, contacts=300, end=time.time(), span=10 * 60, prefix="a")
    Producer(kafka.bootstrap, as_records(topics, events)).send_all()
    wait_until_equal(worker.samples, expected_samples_of(recount_events(events)), timeout=90)
    assert (worker.health() or {})["status"] == "ok"
    log = worker.log_path.read_text()
    assert "NOPERM" not in log and "No permissions" not in log, "a command outside the ACL"
    client = redis.Redis.from_url(url)
    assert client.acl_whoami() == USER
    mine = (f"{unique_name}:".encode(), f"{{{unique_name}:".encode())
    assert all(k.startswith(mine) for k in client.scan_iter(count=1000))
    worker.check_alive()


def test_a_wrong_redis_password_is_reported_and_nothing_counted(
    kafka: KafkaServer,
    watch: Watch,
    acl_redis: Callable[..., str],
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 2)
    env = golden_env(topics, watch.app_id)
    wrong = acl_redis("not-the-password")
    # It joins its group but owns no partition: none can be loaded without Redis.
    worker = watch.worker(kafka.bootstrap, wrong, env).start(wait_assigned=False)
    events = lifecycles(seed=62, contacts=50, end=time.time(), span=10 * 60, prefix="b")
    Producer(kafka.bootstrap, as_records(topics, events)).send_all()
    poll("ccmon_redis_up == 0", lambda: worker.samples()[sample("ccmon_redis_up")] == 0, 30)
    health = worker.health() or {}
    assert health["status"] == "degraded"
    error = str(health["redis"]["error"])  # type: ignore[index]
    assert "WRONGPASS" in error or "invalid username-password" in error, error
    assert per_queue_counters(worker.samples()) == {}  # nothing counted without the guard
    assert "not-the-password" not in worker.log_path.read_text()
    worker.check_alive()
    # With a batch delivered to the count agent and waiting for Redis, SIGTERM alone stops
    # it: the batch gives up, unacknowledged (DEVELOPERS.md, pitfall 68: Faust's stop waited
    # for it until the worker was killed).
    delivered = sample(
        "ccmon_faust_messages_received_total", topic=f"{watch.app_id}-events-by-queue"
    )
    poll("a batch delivered", lambda: worker.samples().get(delivered, 0) > 0, 30)
    worker.stop()
    assert worker.child is not None
    assert worker.child.proc.returncode != -signal.SIGKILL, worker.log_tail()
