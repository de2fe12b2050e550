"""Survey answers (CSAT, NPS, CES) on any channel's topic.

CSAT counts the share of 4-5 answers on a 1-5 scale; NPS is % promoters (9-10) minus %
detractors (0-6); CES is the mean effort score (1-7). Sums and counts are stored, the
scores are computed at read time.
"""

from __future__ import annotations

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.effects import Effects
from ccmon.streams.config import QueuePolicy
from ccmon.streams.contract.events import Event


def survey_counters(ev: Event) -> dict[str, float]:
    incs: dict[str, float] = {}
    if ev.csat is not None:
        incs[b.CSAT_N] = 1
        incs[b.CSAT_GOOD] = 1 if ev.csat >= 4 else 0
    if ev.nps is not None:
        incs[b.NPS_N] = 1
        incs[b.NPS_PRO] = 1 if ev.nps >= 9 else 0
        incs[b.NPS_DET] = 1 if ev.nps <= 6 else 0
    if ev.ces is not None:
        incs[b.CES_N] = 1
        incs[b.CES_SUM] = ev.ces
    return incs


def apply_survey(ev: Event, fx: Effects, policy: QueuePolicy, now: float) -> bool:
    """Count one survey answer. Returns True when the event was late."""
    incs = survey_counters(ev)
    return fx.count(ev.channel, ev.queue, ev.occurred_at, now, policy, incs)
