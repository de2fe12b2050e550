"""Drivers, sinks and the `ccmon simulate` CLI (Kafka replaced by a recording fake)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from ccmon.agents.devkit.simulator import (
    HandleTime,
    JsonlSink,
    KafkaSink,
    Progress,
    QueueModel,
    SimConfig,
    SinkError,
    add_arguments,
    run_cli,
    run_fast,
    run_realtime,
)

START = 1_714_550_400.0
BUSY = SimConfig(
    queues=(QueueModel("q", "call", 36_000.0, HandleTime(30.0), ((0.0, 400),)),), seed=3
)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[float, str, dict[str, Any]]] = []
        self.closed = False

    async def send(self, channel: str, event: dict[str, Any]) -> None:
        self.sent.append((asyncio.get_running_loop().time(), channel, event))

    async def close(self) -> None:
        self.closed = True


async def test_fast_mode_writes_one_jsonl_file_per_channel(tmp_path: Path) -> None:
    from ccmon.agents.devkit.simulator import default_config

    sink = JsonlSink(tmp_path / "out", prefix="drill")
    stats = await run_fast(default_config(), sink, START, 3 * 3600.0)
    await sink.close()
    for channel, suffix in (("call", "calls"), ("chat", "chats"), ("ticket", "tickets")):
        lines = (tmp_path / "out" / f"drill-{suffix}.jsonl").read_bytes().splitlines()
        assert len(lines) == stats.by_channel[channel] > 0
        assert all(orjson.loads(line)["queue"] for line in lines)
    assert stats.events == sum(stats.by_channel.values())
    assert stats.sim_end == START + 3 * 3600.0 and not stats.stopped


async def test_realtime_emits_each_event_when_its_scaled_time_comes() -> None:
    sink, speed = Recorder(), 100.0
    loop = asyncio.get_running_loop()
    wall0 = loop.time()
    stats = await run_realtime(BUSY, sink, speed, 30.0, start=START)
    assert 250 < stats.events == len(sink.sent)
    assert 0.29 <= stats.wall_seconds < 1.5  # 30 simulated seconds at 100x
    lateness = []
    for (wall, _, _), (t, _, _) in zip(sink.sent, _times(BUSY, 30.0), strict=True):
        due = wall0 + (t - START) / speed
        assert wall >= due - 0.003  # never early beyond the sleep granularity
        lateness.append(wall - due)
    assert sorted(lateness)[len(lateness) // 2] < 0.05  # median: robust to a busy CI host


def _times(config: SimConfig, duration: float) -> list[tuple[float, str, dict[str, Any]]]:
    from ccmon.agents.devkit.simulator import iter_events

    return list(iter_events(config, START, duration))


async def test_realtime_default_start_is_now_and_stop_ends_it() -> None:
    import time

    sink, stop = Recorder(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)
    before = time.time()
    stats = await run_realtime(BUSY, sink, 1.0, None, stop)
    assert stats.stopped and 0.15 < stats.wall_seconds < 1.0
    # At speed 1 the events are live: stamped within the run's wall-clock span. Stamps are
    # rounded to the millisecond, and the agents' logins are stamped at the very start.
    assert all(before - 0.0005 <= t <= time.time() + 0.01 for t, _, _ in _times_of(sink))


def _times_of(sink: Recorder) -> list[tuple[float, str, dict[str, Any]]]:
    from datetime import datetime

    return [(datetime.fromisoformat(e["occurred_at"]).timestamp(), c, e) for _, c, e in sink.sent]


async def test_realtime_rejects_bad_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        await run_realtime(BUSY, Recorder(), 0.0, 1.0)


class FakeFuture:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def cancelled(self) -> bool:
        return False

    def exception(self) -> Exception | None:
        return self.error

    def add_done_callback(self, fn: Any) -> None:
        fn(self)


class FakeProducer:
    def __init__(self, **options: Any) -> None:
        self.options = options
        self.records: list[tuple[str, bytes, bytes]] = []
        self.fail_after: int | None = None
        self.stopped = False

    async def start(self) -> None:
        pass

    async def send(self, topic: str, value: bytes, key: bytes) -> FakeFuture:
        self.records.append((topic, value, key))
        broken = self.fail_after is not None and len(self.records) > self.fail_after
        return FakeFuture(RuntimeError("broker gone") if broken else None)

    async def flush(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True


async def test_kafka_sink_topics_keys_and_batching_options() -> None:
    producers: list[FakeProducer] = []

    def factory(**options: Any) -> FakeProducer:
        producers.append(FakeProducer(**options))
        return producers[-1]

    sink = KafkaSink("broker:9092", linger_ms=50, producer_factory=factory)
    await sink.start()
    from ccmon.agents.devkit.simulator import default_config

    await run_fast(default_config(), sink, START, 6 * 3600.0)
    await sink.close()
    producer = producers[0]
    assert producer.options["linger_ms"] == 50 and producer.stopped
    topics = {t for t, _, _ in producer.records}
    assert topics == {
        "contact-center.calls",
        "contact-center.chats",
        "contact-center.tickets",
        "contact-center.agents",
    }
    for _, v, k in producer.records:  # contacts keyed by contact, agent states by agent
        event = orjson.loads(v)
        assert (event.get("contact_id") or event["agent_id"]).encode() == k
    assert sink.delivered == sink.sent == len(producer.records)


async def test_kafka_sink_surfaces_delivery_failures() -> None:
    producer = FakeProducer()
    producer.fail_after = 3
    sink = KafkaSink("b:1", {"call": "x"}, producer_factory=lambda **_: producer)
    await sink.start()
    with pytest.raises(SinkError, match="broker gone"):
        for i in range(10):
            await sink.send("call", {"contact_id": str(i)})
    with pytest.raises(SinkError, match="not delivered"):
        await sink.close()


def test_progress_line() -> None:
    lines: list[str] = []
    progress = Progress(0.0001, lines.append)
    import time

    time.sleep(0.001)
    progress.update(1500, START + 3725.0, START)
    assert lines and "1,500 events" in lines[0]
    assert "2024-05-01T09:02:05.000+00:00 (+1:02:05)" in lines[0]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ccmon simulate")
    add_arguments(parser)
    return parser.parse_args(argv)


async def test_cli_fast_run_is_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = (
        "--fast",
        "--duration",
        "90m",
        "--seed",
        "9",
        "--scenario",
        "arrival_spike",
        "--start",
        "2024-05-01T10:00:00+02:00",
        "--progress-interval",
        "0",
    )
    assert await run_cli(parse(*common, "--output-dir", str(tmp_path / "a"))) == 0
    assert await run_cli(parse(*common, "--output-dir", str(tmp_path / "b"))) == 0
    a, b = (tmp_path / "a" / "sim-calls.jsonl").read_bytes(), (tmp_path / "b" / "sim-calls.jsonl")
    assert a == b.read_bytes() and a
    first = orjson.loads(a.splitlines()[0])
    assert first["occurred_at"].startswith("2024-05-01T08:0")
    assert "events" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--fast",), "choose an output"),
        (("--fast", "--duration", "soon", "--output-dir", "x"), "--duration"),
        (("--scenario", "meteor", "--output-dir", "x"), "unknown scenario"),
        (("--start", "yesterday", "--output-dir", "x"), "--start"),
        (("--speed", "-2", "--output-dir", "x"), "--speed"),
        (("--config", "/nonexistent.yaml", "--output-dir", "x"), "cannot read"),
        (("--fast", "--output-dir", "/proc/ccmon-denied"), "cannot"),
    ],
)
async def test_cli_bad_input_exits_2(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli(parse(*argv)) == 2
    assert message in capsys.readouterr().err


async def test_kafka_sink_unreachable_broker_is_a_clear_error() -> None:
    class Unreachable(FakeProducer):
        async def start(self) -> None:
            raise ConnectionError("Unable to bootstrap")

    made: list[FakeProducer] = []

    def factory(**options: Any) -> FakeProducer:
        made.append(Unreachable(**options))
        return made[-1]

    sink = KafkaSink("nowhere:9092", producer_factory=factory)
    with pytest.raises(SinkError, match="cannot connect to Kafka at nowhere:9092"):
        await sink.start()
    assert made[0].stopped
    await sink.close()  # nothing to flush, must not raise
