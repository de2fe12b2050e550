"""Waiting for Redis: the owner's calls are retried with back-off until Redis answers
(nothing is counted without the guard), and end when the worker stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ccmon.agents.partitions.statestore import REDIS_ERRORS

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BACKOFF_SECONDS = 5.0


class Stopping(Exception):
    """The worker stops while Redis does not answer: what waited for it is left undone, and
    its records unacknowledged (the next owner reads them again). Faust's stop waits until
    every record it delivered is acknowledged or released; a batch retrying for ever held
    it up until the process was killed (DEVELOPERS.md, pitfall 68)."""


class RedisWait:
    """Calls to Redis, each retried until Redis answers; ``on_redis(up, error)`` is told of
    every answer and failure (/healthz shows the error: "Redis unreachable" alone does not
    tell WRONGPASS from a refused connection)."""

    def __init__(self, on_redis: Callable[[bool, str], None] | None = None) -> None:
        self._on_redis = on_redis or (lambda up, error: None)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """The worker stops: a call that fails from now on raises :class:`Stopping` instead
        of waiting (one waiting already wakes). A Redis that answers is still used: a batch
        in flight ends and is acknowledged as usual."""
        self._stopping.set()

    async def __call__(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        delay = 0.1
        while True:
            try:
                result = await call()
            except REDIS_ERRORS as exc:
                self._on_redis(False, f"{type(exc).__name__}: {exc}")
                if self._stopping.is_set():
                    raise Stopping(f"{what}: Redis unavailable ({exc}); the worker stops") from exc
                log.warning("%s: Redis unavailable (%s); retrying", what, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            self._on_redis(True, "")
            return result
