"""The runtime's wiring: what it gives the state store."""

from __future__ import annotations

import pytest

from ccmon.agents.worker.runtime import Runtime
from ccmon.streams.settings import Settings


@pytest.mark.parametrize("days", [1, 3, 35])
def test_redis_keeps_an_interval_past_the_day_the_owner_drops_it(days: int) -> None:
    """The TTL is a safety net for a partition nobody owns: the owner drops an interval
    ``CCMON_RECORD_REVISION_DAYS`` + 2 days after its start (a day's revision needs all of
    the day's intervals), and a worker that loads the partition before then must find it."""
    settings = Settings(record_revision_days=days)
    ttl = Runtime(settings).store.bucket_ttl
    assert ttl["p"] > (days + 2) * 86400
    assert ttl["m"] > settings.bucket_retention_minutes * 60
