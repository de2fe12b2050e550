"""Time of day in tests. A test that produces events "n seconds ago" and reads a number of
the queue's day (``today``, a day's intervals) would read a different number when it runs
just after the queue's midnight: its events would fall on two days. Such a test configures
its queues in :func:`zone_at`, a zone in which it is a chosen hour now, so that it passes
at any hour of the day (CI runs at any hour). Midnight itself is tested on fixed instants
(tests/unit/agents/domain/test_buckets.py, tests/integration/test_golden.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# 15:00 leaves 15 hours of the day behind the test's events and 9 ahead of it.
AFTERNOON = 15


def zone_at(hour: int = AFTERNOON, now: float | None = None) -> str:
    """A fixed-offset IANA zone (``Etc/GMT-N`` is N hours *ahead* of UTC) in which it is
    ``hour`` o'clock at ``now`` (default: the current time)."""
    utc_hour = datetime.fromtimestamp(time.time() if now is None else now, UTC).hour
    offset = (hour - utc_hour) % 24
    offset = offset - 24 if offset > 14 else offset  # the zones run from -12 to +14
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def queues_at(hour: int = AFTERNOON, now: float | None = None) -> str:
    """A queue configuration (YAML) whose queues all live in :func:`zone_at`."""
    return f"defaults: {{timezone: {zone_at(hour, now)}}}\n"
