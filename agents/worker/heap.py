"""Giving the heap's free pages back to the system once a rebalance has settled.

Why: during a rolling restart one worker holds every partition, and its resident memory
stays at that peak after it gives half of them back (DEVELOPERS.md, pitfall 61): in the
full-size soak week the worker that took over each day sat at 540-660 MB, its peer at
340-430 MB, with the same number of partitions. Part of that peak is what glibc's malloc
keeps of freed blocks (Redis replies decoded during a load, the copies of partitions that
went elsewhere). ``malloc_trim`` returns the free pages inside the heap, not only at its
top. Python's own arenas (small objects) are returned by Python when they empty, and are
not touched here.

Done once per rebalance, after every assigned partition has loaded: a rebalance already
pauses counting, and a trim of a 700 MB heap took ~0.2 s (in a thread, so the event loop
runs on). Where the C library has no ``malloc_trim`` (musl, macOS) nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _find_trim() -> Callable[[int], int] | None:
    try:
        trim: Any = ctypes.CDLL(None).malloc_trim  # the C library the process runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_TRIM = _find_trim()


def resident_bytes() -> int:
    """The process's resident set, as the kernel counts it (what a memory limit sees)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE


async def give_back() -> tuple[int, int] | None:
    """Collect cyclic garbage, then return the heap's free pages; the resident bytes before
    and after, or None where the C library cannot."""
    if _TRIM is None:
        return None
    before = resident_bytes()
    gc.collect()  # a load's cycles (tasks, exceptions) would otherwise hold their blocks
    await asyncio.to_thread(_TRIM, 0)
    return before, resident_bytes()


async def after_loads(acquire: Callable[[int], Awaitable[Any]], partitions: Iterable[int]) -> None:
    """Give the heap back once each of ``partitions`` is loaded (or is no longer ours), and
    log what it gave."""
    for partition in sorted(partitions):
        await acquire(partition)
    freed = await give_back()
    if freed is not None:
        before, after = freed
        log.info(
            "rebalance settled: resident memory %.0f MB, %.0f MB after giving the heap's free "
            "pages back",
            before / 1e6,
            after / 1e6,
        )
