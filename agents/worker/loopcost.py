"""What a coroutine costs the event loop: the CPU time of its own steps, not the time it
spent waiting.

A wall-clock measure of a coroutine that awaits Redis also counts whatever the event loop
ran meanwhile (counting steps, ingest batches) and the time other processes held the core;
on a loaded machine that is most of it. The snapshot publisher spaces its publications of
changes by their cost (``ccmon.agents.worker.snapshot``), so it needs the cost itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LoopCost(Generic[T]):
    """``await LoopCost(coro)`` is ``await coro``; afterwards ``seconds`` holds the CPU
    time (of this thread, the event loop's) that its steps took, callees run in the same
    task included; tasks it waits for (a shared build) are not."""

    def __init__(self, awaitable: Awaitable[T]) -> None:
        self._awaitable = awaitable
        self.seconds = 0.0

    def __await__(self) -> Generator[Any, Any, T]:
        # Each send() or throw() is one step of the coroutine on the event loop; what it
        # yields goes to the task unchanged, so suspension, results and cancellation behave
        # as with a plain ``await``.
        inner = self._awaitable.__await__()
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                yielded = inner.send(sent) if thrown is None else inner.throw(thrown)
            except StopIteration as stop:
                result: T = stop.value
                return result
            finally:
                self.seconds += time.thread_time() - started
            sent, thrown = None, None
            try:
                sent = yield yielded
            except GeneratorExit:
                inner.close()
                raise
            except BaseException as exc:  # cancellation included: the coroutine handles it
                thrown = exc
