"""The series budget: which per-queue families a worker exports (docs/metrics.md, "Series
budget"). The defaults are what the alerts, both dashboards and the wall need; the rest is
opt-in, because 1,500 channel x queue pairs times every window and KPI is more series than
a Prometheus operator accepts from one target."""

from __future__ import annotations

from dataclasses import dataclass

from ccmon.agents.domain import buckets as b
from ccmon.streams.settings import Settings

# Exported per window when the window is: numerators and denominators, the ratios being
# derived exactly by recording rules (alerts/ccmon.rules.yml).
WINDOW_COUNTS_TODAY = ("offered", "abandoned", "service_level_good", "service_level_eligible")


@dataclass(frozen=True)
class Budget:
    windows: tuple[str, ...] = ("30m", "today")
    ratios: bool = False  # ccmon_service_level_ratio and the other KPI gauges per window
    detail: bool = False  # secondary counters, full histogram ladders, windowed sums

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(tuple(settings.windows), settings.export_ratios, settings.export_detail)

    @classmethod
    def everything(cls) -> Budget:
        return cls(b.WINDOWS, True, True)
