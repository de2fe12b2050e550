"""Simulator queues for the tests that hold the simulator, the forecast and the worker to
queueing theory: one way to write "a call queue with a fixed staff"."""

from __future__ import annotations

from typing import Any

from ccmon.agents.devkit.simulator import HandleTime, QueueModel


def call_queue(*, handle: float = 180.0, staff: int = 14, **fields: Any) -> QueueModel:
    """Queue ``q``: calls at 200 an hour, ``handle`` seconds each, ``staff`` agents all
    along; ``fields`` sets any other :class:`QueueModel` field (or overrides these)."""
    model: dict[str, Any] = {
        "name": "q",
        "channel": "call",
        "arrivals_per_hour": 200.0,
        "handle_time": HandleTime(handle),
        "agents": ((0.0, staff),),
        **fields,
    }
    return QueueModel(**model)
