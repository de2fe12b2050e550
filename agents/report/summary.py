"""From the day records of a range to what an auditor asks: per queue and day, whether each
promise was kept; per month, the totals and the days met out of the days open.

A **promise** is the service level of a call or chat queue (its variant, threshold and
target), or one of a ticket queue's promises (first reply, next reply, resolution: the
share kept against the queue's target). A day is **open** when its queue had business hours
that day (always, without a calendar). An open day is **met** when none of its promises was
missed: a promise with no volume that day (nothing answered, nothing due) is not missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ccmon.agents.report.reader import Latest

SL = "service_level"
TICKET_PROMISES = ("first_reply", "next_reply", "resolution")


@dataclass
class Figure:
    """One promise over a day or a month: kept / counted (good / eligible for a service
    level, met / met + missed for a ticket promise), and the target share."""

    good: int = 0
    total: int = 0
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def kept(self) -> bool | None:
        ratio = self.ratio
        return None if ratio is None or self.target is None else ratio >= self.target


@dataclass
class Day:
    date: str
    open: bool
    figures: dict[str, Figure]
    counts: dict[str, int]
    revision: int
    reason: str
    worst: list[dict[str, Any]]

    @property
    def met(self) -> bool:
        return all(f.kept is not False for f in self.figures.values())


@dataclass
class Month:
    month: str
    figures: dict[str, Figure] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    days_open: int = 0
    days_met: int = 0
    worst: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class QueueReport:
    channel: str
    queue: str
    days: list[Day] = field(default_factory=list)
    months: list[Month] = field(default_factory=list)

    @property
    def promises(self) -> tuple[str, ...]:
        return (SL,) if self.channel != "ticket" else TICKET_PROMISES


def figures_of(content: dict[str, Any]) -> dict[str, Figure]:
    if content["channel"] != "ticket":
        sl = content["service_level"]
        mine = sl["profiles"][sl["profile"]]
        return {SL: Figure(int(mine["good"]), int(mine["eligible"]), float(sl["target_ratio"]))}
    out = {}
    for name in TICKET_PROMISES:
        # The share kept is held to the queue's target, as a call queue's service level is.
        p = content["promises"][name]
        met, missed = int(p["met"]), int(p["missed"])
        out[name] = Figure(met, met + missed, float(p["target_ratio"]))
    return out


def day_of(envelope: dict[str, Any]) -> Day:
    content = envelope["content"]
    figures = figures_of(content)
    return Day(
        date=content["start"][:10],
        open=float(content["open_seconds"]) > 0,
        figures=figures,
        counts=dict(content["counts"]),
        revision=int(envelope["revision"]),
        reason=str(envelope["reason"]),
        worst=list(content.get("worst_intervals", [])),
    )


def summarise(latest: Latest, worst_per_month: int = 5) -> list[QueueReport]:
    by_queue: dict[tuple[str, str], QueueReport] = {}
    for (channel, queue, period, _), envelope in sorted(latest.records.items()):
        if period != "day":
            continue
        report = by_queue.setdefault((channel, queue), QueueReport(channel, queue))
        report.days.append(day_of(envelope))
    for report in by_queue.values():
        report.months = months_of(report.days, worst_per_month)
    return [by_queue[k] for k in sorted(by_queue)]


def months_of(days: Iterable[Day], worst_per_month: int) -> list[Month]:
    months: dict[str, Month] = {}
    for day in days:
        month = months.setdefault(day.date[:7], Month(day.date[:7]))
        for name, figure in day.figures.items():
            total = month.figures.setdefault(name, Figure(target=figure.target))
            total.good += figure.good
            total.total += figure.total
            total.target = figure.target if figure.target is not None else total.target
        for name, value in day.counts.items():
            month.counts[name] = month.counts.get(name, 0) + value
        if day.open:
            month.days_open += 1
            month.days_met += day.met
        month.worst += day.worst
    for month in months.values():
        month.worst = sorted(month.worst, key=lambda w: (w["ratio"], -w["volume"], w["start"]))
        month.worst = month.worst[:worst_per_month]
    return [months[k] for k in sorted(months)]
