"""Log lines as text or JSON (ccmon.streams.logs): the fields, the context, Faust's logging
set up through mode with our formatter, and refusals in the format asked for."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from mode.utils.logging import setup_logging

from ccmon.streams.logs import (
    JsonFormatter,
    configure,
    faust_logging_config,
    log_context,
    refusal,
)


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, given back as it was."""
    logger = logging.getLogger()
    handlers, level = logger.handlers[:], logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def record(msg: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("ccmon.test", logging.WARNING, __file__, 1, msg, args or ("x",), None)
    rec.__dict__.update(extra)
    return rec


def test_a_json_line_has_the_fields_a_collector_keys_on() -> None:
    doc = json.loads(JsonFormatter().format(record()))
    assert doc["level"] == "warning" and doc["logger"] == "ccmon.test"
    assert doc["message"] == "hello x" and isinstance(doc["pid"], int)
    assert doc["time"].endswith("Z") and len(doc["time"]) == len("2026-12-04T17:56:52.120Z")
    assert "partition" not in doc


def test_context_from_extra_and_from_log_context() -> None:
    assert json.loads(JsonFormatter().format(record(queue="billing")))["queue"] == "billing"
    with log_context(partition=3):
        doc = json.loads(JsonFormatter().format(record(channel="call")))
        assert (doc["partition"], doc["channel"]) == (3, "call")
    assert "partition" not in json.loads(JsonFormatter().format(record()))


async def test_tasks_started_in_a_context_keep_it() -> None:
    async def line() -> str:
        await asyncio.sleep(0)
        return JsonFormatter().format(record())

    with log_context(partition=5):
        task = asyncio.ensure_future(line())
    assert json.loads(await task)["partition"] == 5
    lock = asyncio.Lock()
    async with lock, log_context(partition=6):
        assert json.loads(JsonFormatter().format(record()))["partition"] == 6


def test_a_traceback_is_one_field() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=True)
        rec.exc_info = __import__("sys").exc_info()
    text = JsonFormatter().format(rec)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_faust_logging_through_mode_uses_our_formatter(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """What Faust's worker does with its ``logging_config`` (mode's handler: stderr)."""
    assert faust_logging_config("text") is None
    setup_logging(loglevel="INFO", logging_config=faust_logging_config("json"))
    logging.getLogger("aiokafka.consumer").info("joined %s", "group")
    logging.getLogger("faust.worker").debug("not at info")
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "joined group"


def test_configure_text_and_json(root: logging.Logger) -> None:
    stream = io.StringIO()
    configure("json", "info", stream)
    logging.getLogger("ccmon.wall").info("serving")
    configure("text", "info", stream)
    logging.getLogger("ccmon.wall").info("serving")
    first, second = stream.getvalue().splitlines()
    assert json.loads(first)["logger"] == "ccmon.wall"
    assert second.endswith("[INFO] ccmon.wall: serving")


def test_refusals_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCMON_LOG_FORMAT", raising=False)
    assert refusal("worker", ["f.yaml: queues: must be a mapping"]) == [
        "ccmon worker: f.yaml: queues: must be a mapping"
    ]
    monkeypatch.setenv("CCMON_LOG_FORMAT", "json")
    (line,) = refusal("worker", ["f.yaml: queues: must be a mapping"])
    doc = json.loads(line)
    assert doc["level"] == "error" and doc["logger"] == "ccmon.worker"
    assert doc["message"] == "ccmon worker: f.yaml: queues: must be a mapping"
