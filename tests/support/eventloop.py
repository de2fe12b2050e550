"""Work on the event loop's thread, for tests of what a coroutine costs the loop."""

from __future__ import annotations

import time


def burn(seconds: float) -> None:
    """Busy CPU of this thread for ``seconds`` (thread time, whatever the machine's load):
    a counting step holding the event loop, as the worker's are."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass
