"""A real worker with CCMON_LOG_FORMAT=json on real Kafka and Redis: every line of its log,
Faust's, mode's and aiokafka's as much as ccmon's, is one JSON object with the fields a
collector keys on, the partition where the line is about one; and its /metrics carries
client_python's process and platform collectors (issue 20, item 5)."""

from __future__ import annotations

import json
import time

import orjson

from tests.support.expect import sample, wait_until_equal
from tests.support.kafka_io import produce
from tests.support.topology import EVERY_CHANNEL, Topology

FIELDS = {"time", "level", "logger", "message", "pid"}


def test_every_line_is_json_and_the_process_is_on_metrics(
    topology: Topology,
) -> None:
    topics = topology.create_topics(2, EVERY_CHANNEL)
    topology.settings = {"CCMON_LOG_FORMAT": "json"}
    worker = topology.worker().start()
    try:
        at = int((time.time() - 60) * 1000)
        produce(
            topology.kafka,
            [
                (topics["call"], f"c{n}".encode(), orjson.dumps({
                    "event_id": f"e{n}", "type": "offered", "occurred_at": at,
                    "queue": f"q{n % 3}", "contact_id": f"c{n}",
                }))
                for n in range(30)
            ] + [(topics["call"], b"bad", b"{not json")],
        )  # fmt: skip
        offered = {
            sample("ccmon_contacts_offered_total", channel="call", queue=f"q{q}"): 10.0
            for q in range(3)
        }
        got = wait_until_equal(worker.samples, offered)
        assert got[sample("process_cpu_seconds_total")] > 0
        assert got[sample("process_resident_memory_bytes")] > 0
        assert any(name == "python_info" for name, _ in got)
    finally:
        worker.stop()
    lines = worker.log_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 20, lines
    docs = []
    for number, line in enumerate(lines, start=1):
        try:
            doc = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(doc, dict) and set(doc) >= FIELDS, line
        docs.append(doc)
    loggers = {doc["logger"].split(".")[0] for doc in docs}
    assert {"ccmon", "faust", "mode", "aiokafka"} <= loggers, loggers
    loaded = [d for d in docs if "state loaded" in d["message"]]
    assert loaded and all(d["partition"] == int(d["message"].split()[1][:-1]) for d in loaded)
    assert {d["level"] for d in docs} <= {"debug", "info", "warning", "error", "critical"}
