"""Honest pipeline counters on one Redis server (issue 22, item 5): a second worker joins
mid-stream, its new partitions' records are read again, and ``ccmon_events_duplicate_total``
still equals exactly the re-sends the producer sent; what the rebalance read again is
``ccmon_events_replayed_total``. Before issue 22 the sum over both workers read 3,622 for
1,811 re-sends: the replays of re-sends were counted as producer duplicates once more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.joining import count_across_a_join
from tests.support.personal import Watch
from tests.support.services import KafkaServer, RedisServer

pytestmark = pytest.mark.integration


def test_duplicates_equal_the_resends_across_a_rebalance(
    kafka: KafkaServer,
    redis_server: RedisServer,
    watch: Watch,
    record_property: Callable[[str, Any], None],
) -> None:
    joined = count_across_a_join(watch, kafka.bootstrap, redis_server.url)
    assert joined.resends > 0, joined.figures
    # The rebalance read records again (4,136 of 4,175 on 2026-12-05): without replays the
    # test would not tell them from producer duplicates.
    assert joined.replayed > 0, joined.figures
    assert joined.duplicates == joined.resends, joined.figures
    record_property("figures", joined.figures)
    print(f"rebalance duplicate figures: {joined.figures}")
