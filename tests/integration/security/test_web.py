"""The web port of a real worker serves GET /metrics and GET /healthz and nothing else:
Faust's table, router, stats and graph pages are off (they would serve contact ids), and
no other method is accepted (docs/operations.md, "The web port")."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.support.golden import golden_env
from tests.support.kafka_io import Producer
from tests.support.personal import PERSONAL, Watch
from tests.support.services import KafkaServer, RedisServer
from tests.support.traffic import as_records, lifecycles

pytestmark = pytest.mark.integration

# Faust's own views (faust/web/apps/*.py and the blueprints it mounts by default), and a
# few a scanner would try.
NOT_SERVED = [
    "/",
    "/router/",
    "/router/ccmon.count/",
    "/table/",
    "/table/ccmon/",
    "/stats/",
    "/graph/",
    "/assignment/",
    "/metrics/../table/",
    "/metrics.json",
    "/healthz/details",
    "/static/",
    "/favicon.ico",
]


def _status(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_web_port_serves_metrics_and_healthz_only(
    kafka: KafkaServer, redis_server: RedisServer, watch: Watch, unique_name: str
) -> None:
    topics = watch.source_topics(kafka.bootstrap, 1)
    worker = watch.worker(kafka.bootstrap, redis_server.url, golden_env(topics, unique_name))
    worker.start()
    events = lifecycles(seed=71, contacts=20, end=time.time(), span=600, prefix="w")
    Producer(kafka.bootstrap, as_records(topics, events)).send_all()
    assert _status(worker.url + "/metrics")[0] == 200
    assert _status(worker.url + "/healthz")[0] == 200
    for path in NOT_SERVED:
        status, body = _status(worker.url + path)
        assert status == 404, (path, status)
        assert PERSONAL.marker.encode() not in body, path
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/metrics", "/healthz"):
            assert _status(worker.url + path, method)[0] in (404, 405), (method, path)
    worker.metrics_text()  # scanned for contact and agent ids like every other output
