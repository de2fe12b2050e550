"""deploy/local starts real services that answer: what every other integration test stands on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from tests.support.services import (
    AlertmanagerServer,
    KafkaServer,
    PrometheusServer,
    RedisServer,
    alive,
    assert_stack_stopped,
    stack,
    stack_cli,
    stack_started,
)

pytestmark = pytest.mark.integration


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: dict[str, object] = json.loads(response.read())
    return body


def _query(prometheus: PrometheusServer, expr: str) -> list[dict[str, object]]:
    params = urllib.parse.urlencode({"query": expr})
    body = _get_json(f"{prometheus.url}/api/v1/query?{params}")
    assert body["status"] == "success", body
    data = body["data"]
    assert isinstance(data, dict)
    result: list[dict[str, object]] = data["result"]
    return result


async def test_kafka_produce_consume_round_trip(kafka: KafkaServer, unique_name: str) -> None:
    if "CCMON_TEST_KAFKA" not in os.environ:
        assert kafka.version == stack.kafka_version()
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(unique_name, f"event-{n}".encode(), key=b"calls:sales")
    finally:
        await producer.stop()

    # A consumer group proves the group coordinator and offsets topic work, as Faust needs.
    consumer = AIOKafkaConsumer(
        unique_name,
        bootstrap_servers=kafka.bootstrap,
        group_id=unique_name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received: list[bytes] = []
        async with asyncio.timeout(60):
            while len(received) < 3:
                message = await consumer.getone()
                assert message.value is not None
                received.append(message.value)
        await consumer.commit()
        committed = await consumer.committed(TopicPartition(unique_name, 0))
    finally:
        await consumer.stop()
    assert received == [b"event-0", b"event-1", b"event-2"]
    assert committed == 3


def test_redis_answers(redis_server: RedisServer, unique_name: str) -> None:
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        assert client.ping() is True
        key = f"ccmon:{unique_name}:probe"
        assert client.set(key, "42", ex=60) is True
        assert client.get(key) == "42"
        assert client.info("server")["redis_version"] == redis_server.version
    assert int(redis_server.version.split(".")[0]) >= 7


def test_prometheus_loads_caller_config_and_rules(
    prometheus_factory: Callable[[Path], PrometheusServer], tmp_path: Path
) -> None:
    (tmp_path / "rules.yml").write_text(
        "groups:\n"
        "  - name: ccmon-local-stack\n"
        "    rules:\n"
        "      - record: ccmon_test:one\n"
        "        expr: vector(1)\n"
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [rules.yml]\n"
    )
    prometheus = prometheus_factory(config)

    with urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=5) as response:
        assert response.status == 200
    assert _query(prometheus, "vector(2)")[0]["value"] == [pytest.approx(time.time(), abs=60), "2"]
    deadline = time.monotonic() + 30
    while not (recorded := _query(prometheus, "ccmon_test:one")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert recorded, "the recording rule from the caller's rule file never produced a sample"
    prometheus.reload()  # --web.enable-lifecycle is on


def test_alertmanager_answers_amtool(
    alertmanager_factory: Callable[[Path], AlertmanagerServer], tmp_path: Path, unique_name: str
) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(f"route: {{receiver: {unique_name}}}\nreceivers: [{{name: {unique_name}}}]\n")
    alertmanager = alertmanager_factory(config)
    amtool = ["amtool", f"--alertmanager.url={alertmanager.url}"]

    checked = subprocess.run(
        ["amtool", "check-config", str(config)], check=False, capture_output=True
    )
    assert checked.returncode == 0, checked.stderr
    shown = subprocess.run([*amtool, "config", "show"], capture_output=True, text=True, check=True)
    assert unique_name in shown.stdout
    subprocess.run([*amtool, "alert", "add", "CcmonLocalStack", "severity=page"], check=True)
    queried = subprocess.run(
        [*amtool, "alert", "query", "-o", "json"], capture_output=True, text=True, check=True
    )
    assert "CcmonLocalStack" in queried.stdout


def test_cli_start_is_idempotent_and_stop_is_clean(tmp_path: Path) -> None:
    output, env = stack_started("redis", tmp_path)
    pid = int((tmp_path / "redis.pid").read_text())
    try:
        with redis.Redis.from_url(env["REDIS_URL"]) as client:
            assert client.ping() is True
        assert stack_cli("start", "redis", tmp_path).stdout == output  # already running
        assert stack_cli("env", "redis", tmp_path).stdout == output
    finally:
        stopped = stack_cli("stop", "redis", tmp_path)
    assert_stack_stopped("redis", tmp_path, stopped)
    assert not alive(pid)
    assert not (tmp_path / "redis.pid").exists()


def test_failed_start_explains_itself(tmp_path: Path) -> None:
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs: [{job_name: }]\n")
    with pytest.raises(stack.StackError, match=r"exited with code .*\n--- last \d+ lines of"):
        stack.start("prometheus", tmp_path / "stack", broken, timeout=30)
    assert not (tmp_path / "stack" / "prometheus.pid").exists()
