"""The agent and forecast families on /metrics: a forecast that changes while its queue's view
does not (the window's elapsed length grows) reaches the exposition; rendered lines are never
reused for another forecast."""

from __future__ import annotations

import asyncio

from ccmon.agents.metrics.budget import Budget
from ccmon.agents.metrics.queues import QueueExposition
from ccmon.agents.readmodel.source import ReadModelSource

from .test_golden import CONFIG, NOW, _state


def predicted(text: str) -> str:
    return next(
        line
        for line in text.splitlines()
        if line.startswith('ccmon_forecast_offered_load_erlangs{channel="call",queue="sales"}')
    )


def test_a_new_forecast_is_rendered_even_when_the_view_is_cached() -> None:
    state = _state()
    clock = [NOW + 5.0]
    source = ReadModelSource(
        lambda: {0: state},
        CONFIG.policy,
        lambda: clock[0],
        max_age_seconds=0,
        forecast_refresh_seconds=0,
    )
    exposition = QueueExposition(source, Budget(detail=True), {})
    first = predicted(exposition.render())
    clock[0] = NOW + 50.0  # same minute: the view is reused, the window is 45 s longer
    # A scrape within a second serves the body it has; the next refresh renders anew.
    asyncio.run(exposition.refresh())
    second = predicted(exposition.render())
    assert first != second
    assert float(second.split()[-1]) < float(first.split()[-1])
