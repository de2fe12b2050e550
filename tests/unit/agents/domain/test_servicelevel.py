"""Service-level profiles (docs/metrics.md, "Service-level profiles"): the issue's pinned
fixture, each option, and the legacy names."""

from __future__ import annotations

import pytest

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.servicelevel import PROFILES, all_parts, parts, queue_parts, ratio
from ccmon.streams.config import QueuePolicy

# Threshold 20 s, 10 contacts: 6 answered within 20 s, 2 abandoned within 20 s, 1 callback
# requested at 30 s, 1 answered at 40 s (domain.md, "How contacts leave a queue").
FIXTURE = {
    b.OFFERED: 10,
    b.ANSWERED: 7,
    b.ANSWERED_WITHIN: 6,
    b.ABANDONED: 2,
    b.ABANDONED_WITHIN: 2,
    b.CALLBACKS: 1,
    b.CALLBACKS_WITHIN: 0,
}


@pytest.mark.parametrize(
    ("profile", "good", "eligible", "expected"),
    [
        ("all_exits", 8, 10, 0.80),
        ("answered_abandoned", 6, 9, 0.667),
        ("answered", 6, 7, 0.857),
    ],
)
def test_the_pinned_fixture(profile: str, good: int, eligible: int, expected: float) -> None:
    assert parts(FIXTURE, profile) == (good, eligible)
    sl = ratio(*parts(FIXTURE, profile))
    assert sl is not None and round(sl, 3) == expected


def test_every_profile_is_in_all_parts() -> None:
    policy = QueuePolicy(threshold_seconds=20)
    assert set(all_parts(FIXTURE, policy)) == set(PROFILES)
    assert all_parts(FIXTURE, policy)["all_exits"] == (8, 10)


def test_short_abandons_left_out_of_answered_abandoned_only() -> None:
    c = {**FIXTURE, b.ABANDONED_SHORT: 1}
    policy = QueuePolicy(exclude_short_abandons=True)
    assert queue_parts(c, policy) == (6, 8)  # answered_abandoned, the queue's own
    assert queue_parts(c, policy, "all_exits") == (8, 10)  # a short abandon left within T
    assert queue_parts(c, policy, "answered") == (6, 7)


def test_flow_outs_counted_when_included() -> None:
    c = {**FIXTURE, b.FLOWED_OUT: 2, b.FLOWED_OUT_WITHIN: 1}
    assert parts(c, "answered_abandoned") == (6, 9)
    assert parts(c, "answered_abandoned", include_flow_outs=True) == (6, 11)
    assert parts(c, "all_exits", include_flow_outs=True) == (9, 12)
    assert parts(c, "answered", include_flow_outs=True) == (6, 7)


def test_an_empty_window_has_no_service_level() -> None:
    assert all(ratio(*parts({}, p)) is None for p in PROFILES)


def test_an_unknown_profile_is_an_error() -> None:
    with pytest.raises(ValueError, match="profile"):
        parts({}, "offered_within")
