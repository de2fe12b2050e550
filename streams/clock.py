"""Which "now" ends a window: the wall clock (live) or the stream's own time (replays)."""

from __future__ import annotations

import time
from typing import Literal


class Clock:
    """``wall``: windows end now, so a quiet queue still rolls forward. ``stream``: windows
    end at the largest event time this worker has seen, so a replay or an accelerated
    simulation shows the numbers it would have shown live. Before any event the stream
    clock falls back to the wall clock."""

    def __init__(self, mode: Literal["wall", "stream"]) -> None:
        self.mode = mode
        self.stream_time: float | None = None

    def observe(self, event_time: float) -> None:
        if self.stream_time is None or event_time > self.stream_time:
            self.stream_time = event_time

    def now(self) -> float:
        if self.mode == "stream" and self.stream_time is not None:
            return self.stream_time
        return time.time()
