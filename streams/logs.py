"""How ccmon's processes write their logs: plain text (the default), or one JSON object per
line with ``CCMON_LOG_FORMAT=json``, for Loki, Elasticsearch or any collector that parses
JSON lines (docs/configuration.md, "Logs").

A JSON line holds ``time`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``,
``message`` and ``pid``, the ``partition`` or ``queue`` where the code knows it, and
``exception`` (the traceback, one string) when there is one. The worker's log lines are
Faust's, mode's and aiokafka's as much as ours: they all go through the root logger, whose
handlers Faust configures from :func:`faust_logging_config`, so one formatter serves them
all. Context comes from ``extra={"partition": ...}`` on a call, or from :func:`log_context`
around code that works on one partition (what it logs, and the tasks it starts, carry it).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

import orjson

FORMATS = ("text", "json")
CONTEXT_FIELDS = ("partition", "queue", "channel")
TEXT_FORMAT = "[%(asctime)s] [%(process)s] [%(levelname)s] %(name)s: %(message)s"
_context: ContextVar[Mapping[str, object]] = ContextVar(
    "ccmon_log_context", default=MappingProxyType({})
)


class log_context:  # a lower-case name: it reads like a function at the `with`
    """Fields every line logged inside carries (in this task and in tasks started here);
    ``with`` or ``async with`` (beside a lock: ``async with lock, log_context(...)``)."""

    def __init__(self, **fields: object) -> None:
        self.fields = fields
        self.tokens: list[Token[Mapping[str, object]]] = []

    def __enter__(self) -> None:
        self.tokens.append(_context.set({**_context.get(), **self.fields}))

    def __exit__(self, *exc: object) -> None:
        _context.reset(self.tokens.pop())

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a string field)."""

    def format(self, record: logging.LogRecord) -> str:
        return json_line(
            record.levelname,
            record.name,
            record.getMessage(),
            created=record.created,
            pid=record.process,
            fields={
                **_context.get(),
                **{key: getattr(record, key) for key in CONTEXT_FIELDS if hasattr(record, key)},
            },
            exception=self.formatException(record.exc_info) if record.exc_info else None,
            stack=self.formatStack(record.stack_info) if record.stack_info else None,
        )


def json_line(
    level: str,
    logger: str,
    message: str,
    *,
    created: float | None = None,
    pid: int | None = None,
    fields: Mapping[str, object] | None = None,
    exception: str | None = None,
    stack: str | None = None,
) -> str:
    when = datetime.fromtimestamp(created, UTC) if created is not None else datetime.now(UTC)
    doc: dict[str, Any] = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level.lower(),
        "logger": logger,
        "message": message,
    }
    if pid is not None:
        doc["pid"] = pid
    doc.update(fields or {})
    if exception:
        doc["exception"] = exception
    if stack:
        doc["stack"] = stack
    return orjson.dumps(doc, default=str).decode()


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(log_format: str, level: str | int, stream: TextIO | None = None) -> None:
    """The root logger of a process that is not a Faust worker (the wall), or of a worker
    before Faust sets its logging up (the preflight): one handler, in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)


def faust_logging_config(log_format: str) -> dict[str, Any] | None:
    """Faust's ``logging_config``: in JSON, its two formatters replaced by ours (``merge``
    keeps mode's handlers, levels and log file); in text, Faust's own format."""
    if log_format != "json":
        return None
    ours = {"()": f"{__name__}.JsonFormatter"}
    return {"version": 1, "merge": True, "formatters": {"default": ours, "colored": ours}}


def refusal(command: str, lines: list[str]) -> list[str]:
    """What a command prints when it refuses to start (bad settings, a broken file): one
    line per problem, in the log format asked for. The format is read from the environment
    as it is, since the settings themselves may be what is wrong."""
    as_json = os.environ.get("CCMON_LOG_FORMAT", "").strip() == "json"
    return [
        json_line("error", f"ccmon.{command}", f"ccmon {command}: {line}")
        if as_json
        else f"ccmon {command}: {line}"
        for line in lines
    ]
