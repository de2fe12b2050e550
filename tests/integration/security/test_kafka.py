"""Kafka with TLS and SASL: a broker of the test's own (deploy/local) with a SASL_SSL
listener, SCRAM-SHA-512 users and client certificates required, all made in the test. The
worker connects with CCMON_KAFKA_* settings and counts exactly; a wrong password stops it
at once with one clear line (docs/operations.md, "Kafka security")."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import certs
from tests.support.cli import refused_worker
from tests.support.expect import wait_until_equal
from tests.support.golden import expected_samples_of, recount_events
from tests.support.golden import golden_env as base_env
from tests.support.kafka_io import Producer
from tests.support.personal import Watch
from tests.support.services import OwnService, RedisServer
from tests.support.topology import source_topics
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration

USER, PASSWORD = "ccmon", "s3cret-for-the-test"


def _broker_config(directory: Path, made: certs.Certificates) -> Path:
    """The PLAINTEXT listener stays for the dev kit's readiness probe and the test's own
    producer; the worker is only ever given the SASL_SSL one."""
    path = directory / "secure.properties"
    path.write_text(
        "listeners=PLAINTEXT://127.0.0.1:${port:broker},SASL_SSL://127.0.0.1:${port:secure},"
        "CONTROLLER://127.0.0.1:${port:controller}\n"
        "advertised.listeners=PLAINTEXT://127.0.0.1:${port:broker},"
        "SASL_SSL://127.0.0.1:${port:secure}\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
        "SASL_SSL:SASL_SSL\n"
        "sasl.enabled.mechanisms=SCRAM-SHA-512\n"
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
        f"ssl.keystore.type=PKCS12\nssl.keystore.location={made.server_p12}\n"
        f"ssl.keystore.password={certs.PASSWORD}\nssl.key.password={certs.PASSWORD}\n"
        f"ssl.truststore.type=PEM\nssl.truststore.location={made.ca}\n"
        "ssl.client.auth=required\n"
        f"ccmon.format.add-scram=SCRAM-SHA-512=[name={USER},password={PASSWORD}]\n",
        encoding="utf-8",
    )
    return path


def _secure_env(
    broker: OwnService, made: certs.Certificates, password: str = PASSWORD
) -> dict[str, str]:
    return {
        "CCMON_KAFKA": f"127.0.0.1:{broker.env['KAFKA_PORT_SECURE']}",
        "CCMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CCMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "CCMON_KAFKA_SASL_USERNAME": USER,
        "CCMON_KAFKA_SASL_PASSWORD": password,
        "CCMON_KAFKA_SSL_CA_FILE": str(made.ca),
        "CCMON_KAFKA_SSL_CERT_FILE": str(made.client_cert),
        "CCMON_KAFKA_SSL_KEY_FILE": str(made.client_key),
    }


def test_worker_on_sasl_ssl_scram_with_client_certificates_counts_exactly(
    own: Callable[..., OwnService],
    redis_server: RedisServer,
    watch: Watch,
    unique_name: str,
    tmp_path: Path,
) -> None:
    made = certs.make(tmp_path / "certs")
    broker = own("kafka", _broker_config(tmp_path, made))
    topics = watch.source_topics(broker.bootstrap, 2)
    env = {**base_env(topics, unique_name), **_secure_env(broker, made)}
    # The worker's only address is the SASL_SSL port, and the metadata of that listener
    # names only it: every connection the worker makes is authenticated and encrypted.
    worker = watch.worker(env["CCMON_KAFKA"], redis_server.url, env).start()
    events = lifecycles(seed=51, contacts=300, end=time.time(), span=10 * 60, prefix="t")
    Producer(broker.bootstrap, as_records(topics, events)).send_all()
    wait_until_equal(worker.samples, expected_samples_of(recount_events(events)), timeout=90)
    assert (worker.health() or {})["status"] == "ok"
    worker.check_alive()


def test_a_wrong_password_exits_at_once_with_one_clear_line(
    own: Callable[..., OwnService], redis_server: RedisServer, unique_name: str, tmp_path: Path
) -> None:
    made = certs.make(tmp_path / "certs")
    broker = own("kafka", _broker_config(tmp_path, made))
    topics = source_topics(unique_name)
    env = {
        **os.environ,
        **base_env(topics, unique_name),
        **_secure_env(broker, made, password="not-the-password"),
        "CCMON_APP_ID": unique_name,
        "CCMON_REDIS": redis_server.url,
        "CCMON_DATA_DIR": str(tmp_path / "data"),
    }
    line, seconds, done = refused_worker(env)
    assert line.startswith("ccmon worker: cannot connect to Kafka at 127.0.0.1:"), line
    assert "authentication" in line.lower() or "sasl" in line.lower(), line
    assert "not-the-password" not in done.stderr + done.stdout  # never echoed
    print(f"wrong password: exit {done.returncode} after {seconds:.1f}s: {line}")
