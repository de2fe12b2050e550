"""The threshold model: when a KPI of a queue is OK, at risk or breached, for every wall.

One definition, read by the ccmon wall (from the read model's ``thresholds``) and by Grafana
(from the ``*_at_risk`` and limit gauges, docs/metrics.md), so that the two walls agree
(tests/integration/wall/test_two_walls.py). Per KPI two levels from the queue configuration
(docs/configuration.md, "At risk"): the limit, where it is breached (the service-level
target, the alert limits, the answer threshold, the backlog limit), and the at-risk level a
margin before it. Both levels are *steps* in Grafana's sense: a state starts at its level,
inclusive, so that ``value >= step`` decides it on both walls alike.

The ``at_risk`` block of the queue configuration is :class:`AtRisk`; :func:`check` refuses,
once every policy is resolved, a margin that leaves a KPI no room to be OK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from ccmon.streams.configfile import ConfigError, Problem, Section
from ccmon.streams.policy import QueuePolicy

# A margin left unset is this share of its limit: at risk from 75 % of a limit.
DEFAULT_MARGIN_SHARE = 0.25
DEFAULT_SERVICE_LEVEL_MARGIN = 0.05  # points above the target
# Levels are rounded so that 0.80 + 0.05 is the 0.85 a person wrote, on both walls.
_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Level:
    """``breached``: the limit; ``at_risk``: where the margin before it starts. For a KPI
    where more is better (the service level) the states run the other way: breached below
    the limit, at risk below ``at_risk``."""

    at_risk: float
    breached: float
    higher_is_better: bool = False

    def state(self, value: float | None) -> str:
        """``ok``, ``warn`` (at risk), ``alarm`` (breached) or ``none`` (no value)."""
        if value is None:
            return "none"
        if self.higher_is_better:
            return "alarm" if value < self.breached else "warn" if value < self.at_risk else "ok"
        return "alarm" if value >= self.breached else "warn" if value >= self.at_risk else "ok"

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "at_risk": self.at_risk,
            "breached": self.breached,
            "higher_is_better": self.higher_is_better,
        }


def _round(value: float) -> float:
    return round(value, _DIGITS)


def service_level_margin(p: QueuePolicy) -> float:
    if p.service_level_margin is not None:
        return p.service_level_margin
    return min(DEFAULT_SERVICE_LEVEL_MARGIN, _round(1.0 - p.target_ratio))


def _below(limit: float, margin: float | None) -> Level:
    margin = DEFAULT_MARGIN_SHARE * limit if margin is None else margin
    return Level(_round(limit - margin), float(limit))


# KPI name -> (the limit's configuration key, the margin's), for messages and docs.
KEYS = {
    "service_level": ("service_level.target_ratio", "at_risk.service_level_margin"),
    "waiting": ("alerts.waiting_contacts", "at_risk.waiting_margin"),
    "oldest_waiting": ("service_level.threshold_seconds", "at_risk.oldest_waiting_margin_seconds"),
    "abandon": ("alerts.abandon_ratio", "at_risk.abandon_margin"),
    "blocking": ("alerts.blocking_ratio", "at_risk.blocking_margin"),
    "backlog": ("tickets.backlog_limit", "at_risk.backlog_margin"),
}


def levels(p: QueuePolicy) -> dict[str, Level]:
    """Every KPI's levels. ``backlog`` only with a backlog limit; ``oldest_open`` (the
    oldest open ticket) is breached at the resolution target and has no margin: the
    business-time promises carry their own at-risk margin."""
    out = {
        "service_level": Level(
            _round(p.target_ratio + service_level_margin(p)), p.target_ratio, True
        ),
        "waiting": _below(p.waiting_contacts, p.waiting_margin),
        "oldest_waiting": _below(p.threshold_seconds, p.oldest_waiting_margin_seconds),
        "abandon": _below(p.abandon_ratio, p.abandon_margin),
        "blocking": _below(p.blocking_ratio, p.blocking_margin),
        "oldest_open": Level(p.resolution_target_seconds, p.resolution_target_seconds),
    }
    if p.backlog_limit is not None:
        out["backlog"] = _below(p.backlog_limit, p.backlog_margin)
    return out


def problems(p: QueuePolicy) -> list[str]:
    """Margins that leave a KPI no room to be OK, one line each (empty: none)."""
    found = []
    margin = p.service_level_margin
    if margin is not None and p.target_ratio + margin > 1 + 1e-12:
        found.append(
            f"{KEYS['service_level'][1]} ({margin:g}) puts the at-risk level above 100 % "
            f"with {KEYS['service_level'][0]} {p.target_ratio:g}: the queue could never be OK"
        )
    written = {
        "waiting": (p.waiting_contacts, p.waiting_margin),
        "oldest_waiting": (p.threshold_seconds, p.oldest_waiting_margin_seconds),
        "abandon": (p.abandon_ratio, p.abandon_margin),
        "blocking": (p.blocking_ratio, p.blocking_margin),
        "backlog": (p.backlog_limit, p.backlog_margin),
    }
    for kpi, (limit, kpi_margin) in written.items():
        if kpi_margin is None or limit is None or kpi_margin < limit or kpi_margin == limit == 0:
            continue
        limit_key, margin_key = KEYS[kpi]
        found.append(
            f"{margin_key} ({kpi_margin:g}) must be below {limit_key} ({limit:g}), the limit "
            "it is a margin before: the tile would be at risk at 0"
        )
    return found


def check(source: str, policies: Mapping[str, QueuePolicy]) -> None:
    """ConfigError naming where each problem first shows (``defaults``, ``queues.x``, an
    override): a margin in `defaults` meets each queue's own limit."""
    found: dict[str, Problem] = {}
    for where, policy in policies.items():
        for line in problems(policy):
            found.setdefault(line, Problem(source, where, line))
    if found:
        raise ConfigError(list(found.values()))


Margin = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class AtRisk(Section):
    """How far before each limit a wall tile turns amber, "at risk", in the KPI's own unit
    (both walls read it: docs/wall.md). Unset: 5 points for the service level, a quarter of
    the limit for the others."""

    service_level_margin: Margin | None = Field(
        None, le=1, description="Points above the target still at risk (0.05: 80-85 %)."
    )
    waiting_margin: Margin | None = Field(
        None, description="Contacts below alerts.waiting_contacts already at risk."
    )
    oldest_waiting_margin_seconds: Margin | None = Field(
        None, description="Seconds before the answer threshold an oldest wait is at risk."
    )
    abandon_margin: Margin | None = Field(
        None, le=1, description="Ratio below alerts.abandon_ratio already at risk."
    )
    blocking_margin: Margin | None = Field(
        None, le=1, description="Ratio below alerts.blocking_ratio already at risk."
    )
    backlog_margin: Margin | None = Field(
        None, description="Open tickets below tickets.backlog_limit already at risk."
    )
