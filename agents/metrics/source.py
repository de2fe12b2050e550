"""One read model per scrape: every collector of a scrape (and the Redis snapshot in the
same instant) shares the same build instead of walking the state again."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ccmon.agents.readmodel import PolicyFor, ReadModel, ReadModelBuilder
from ccmon.agents.state import PartitionState


class ReadModelSource:
    """The read model of the owned partitions, rebuilt at most every ``max_age_seconds``
    (a scrape and the snapshot of the same instant share one)."""

    def __init__(
        self,
        states: Callable[[], Mapping[int, PartitionState]],
        policy_for: PolicyFor,
        now: Callable[[], float],
        max_age_seconds: float = 0.25,
        generation: Callable[[], int] = lambda: 0,
        forecast_window: str = "30m",
        forecast_refresh_seconds: float = 10.0,
    ) -> None:
        self.states = states
        self.builder = ReadModelBuilder(policy_for, forecast_window, forecast_refresh_seconds)
        self.now = now
        self.max_age = max_age_seconds
        # Bumped on every assignment and revocation: a partition that moves invalidates the
        # model at once, so two workers never export the same pair from a cache.
        self.generation = generation
        self._cached: ReadModel | None = None
        self._seen_generation = -1
        self.built_at = 0.0

    def get(self) -> ReadModel:
        generation = self.generation()
        if (
            self._cached is None
            or generation != self._seen_generation
            or time.monotonic() - self.built_at > self.max_age
        ):
            self._cached = self.builder.build(self.states(), self.now())
            self.built_at = time.monotonic()
            self._seen_generation = generation
        return self._cached
