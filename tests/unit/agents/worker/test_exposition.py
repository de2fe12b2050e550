from __future__ import annotations

import math

from ccmon.agents.worker.exposition import FORECAST_BUDGET_SECONDS, forecast_budget


def test_the_workers_share_one_forecast_budget_by_their_partitions() -> None:
    assert forecast_budget(8, 8) == FORECAST_BUDGET_SECONDS
    four = [forecast_budget(2, 8) for _ in range(4)]
    assert math.isclose(sum(four), FORECAST_BUDGET_SECONDS)
    assert math.isclose(forecast_budget(3, 8) + forecast_budget(5, 8), FORECAST_BUDGET_SECONDS)
    assert forecast_budget(0, 8) == 0.0  # owns nothing (yet): nothing of its own is due
