"""What a wall tile shows, computed from one read-model document. Pure: no I/O.

A tile is built from an allow-list of the document's fields, never by copying it, so the
feed can only carry what is listed here: aggregates, targets and the queue's name — no
contact or agent id can reach a screen even if a document one day holds one.

States are decided here, not in the browser, so that they are tested once and every screen
agrees, by the queue's threshold model (:mod:`ccmon.streams.thresholds`, published in the
document), the one Grafana's wall reads too: ``ok``, ``warn`` (at risk, within the margin
before a limit), ``alarm`` (breached, at or past a limit), ``none`` (no data: nothing
offered yet, nobody waiting) and ``info`` (a count with no limit). docs/wall.md lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ccmon.streams import thresholds
from ccmon.streams.config import BUILTIN_DEFAULTS, QueuePolicy
from ccmon.streams.thresholds import Level

CHANNEL_ORDER = {"call": 0, "chat": 1, "ticket": 2}
SEVERITY = {"alarm": 3, "warn": 2, "ok": 1, "info": 0, "none": 0}
CONTACT_PRIORITY = ("sl_30m", "oldest_waiting", "waiting", "abandon_30m", "blocking_30m")
TICKET_PRIORITY = ("overdue", "oldest_open", "backlog")

Tile = dict[str, Any]
Metric = dict[str, Any]


@dataclass(frozen=True)
class Shown:
    """One number of a tile: where it is in the read-model document, and the KPI of the
    threshold model (ccmon.streams.thresholds) that decides its state (None: a count with no
    limit, ``info``). A new number on a tile is one line in CONTACT or TICKET."""

    name: str
    path: tuple[str, ...]
    kpi: str | None = None


CONTACT = (
    Shown("sl_30m", ("windows", "30m", "service_level"), "service_level"),
    Shown("waiting", ("waiting",), "waiting"),
    Shown("oldest_waiting", ("oldest_waiting_seconds",), "oldest_waiting"),
    Shown("asa_30m", ("windows", "30m", "asa")),
    Shown("abandon_30m", ("windows", "30m", "abandon"), "abandon"),
    Shown("blocking_30m", ("windows", "30m", "blocking"), "blocking"),
    # Callbacks requested and not placed yet: contacts of their own, out of "waiting"
    # (docs/metrics.md, "Queue exits"); the cell shows only while there are some.
    Shown("callbacks_waiting", ("callbacks_waiting",)),
    Shown("offered_today", ("windows", "today", "offered")),
    Shown("sl_today", ("windows", "today", "service_level"), "service_level"),
    Shown("handled_today", ("windows", "today", "handled")),
    Shown("aht_30m", ("windows", "30m", "aht")),
    # Staffing and the live forecast (docs/metrics.md, "Staffing forecast").
    Shown("agents_staffed", ("agents", "staffed")),
    Shown("agents_available", ("agents", "available")),
    Shown("sl_predicted", ("agents", "forecast", "service_level_predicted"), "service_level"),
)
TICKET = (
    Shown("backlog", ("tickets_open",), "backlog"),
    Shown("oldest_open", ("oldest_open_ticket_seconds",), "oldest_open"),
    Shown("created_today", ("windows", "today", "created")),
    Shown("resolved_today", ("windows", "today", "resolved")),
)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _get(doc: Mapping[str, Any], *path: str) -> float | None:
    node: Any = doc
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return _num(node)


def _metric(value: float | None, state: str) -> Metric:
    return {"value": value, "state": "none" if value is None else state}


def levels_of(doc: Mapping[str, Any]) -> dict[str, Level]:
    """The document's threshold model; a document without one (a worker of an earlier
    version during a rolling upgrade) gets the built-in rule on its targets and limits."""
    raw = doc.get("thresholds")
    if not isinstance(raw, Mapping):
        return thresholds.levels(_policy_of(doc))
    out = {}
    for kpi, level in raw.items():
        if not isinstance(level, Mapping):
            continue
        at_risk, breached = _num(level.get("at_risk")), _num(level.get("breached"))
        if at_risk is not None and breached is not None:
            out[str(kpi)] = Level(at_risk, breached, level.get("higher_is_better") is True)
    return out


def _policy_of(doc: Mapping[str, Any]) -> QueuePolicy:
    b = BUILTIN_DEFAULTS
    return replace(
        b,
        target_ratio=_get(doc, "target", "service_level") or b.target_ratio,
        threshold_seconds=_get(doc, "target", "threshold_seconds") or b.threshold_seconds,
        resolution_target_seconds=_get(doc, "target", "resolution_seconds")
        or b.resolution_target_seconds,
        abandon_ratio=_get(doc, "limits", "abandon_ratio") or b.abandon_ratio,
        blocking_ratio=_get(doc, "limits", "blocking_ratio") or b.blocking_ratio,
        waiting_contacts=int(_get(doc, "limits", "waiting_contacts") or b.waiting_contacts),
    )


def _shown(doc: Mapping[str, Any], fields: tuple[Shown, ...]) -> dict[str, Metric]:
    levels = levels_of(doc)
    out = {}
    for f in fields:
        value = _get(doc, *f.path)
        level = levels.get(f.kpi) if f.kpi else None
        out[f.name] = _metric(value, "info" if level is None else level.state(value))
    return out


def _contact_metrics(doc: Mapping[str, Any]) -> dict[str, Metric]:
    out = _shown(doc, CONTACT)
    shortfall = _get(doc, "agents", "forecast", "shortfall")
    short = "info" if shortfall is None else ("alarm" if shortfall > 0 else "ok")
    out["agents_required"] = _metric(_get(doc, "agents", "forecast", "required"), short)
    # Where agents serve several contacts at once (chats), free slots say who can take one:
    # an agent with 1 of 3 chats is not "free" but has room (docs/wall.md).
    agents = doc.get("agents")
    if isinstance(agents, Mapping) and agents.get("concurrent") is True:
        slots, busy = _get(doc, "agents", "slots"), _get(doc, "agents", "slots_busy")
        free = None if slots is None or busy is None else max(0, slots - busy)
        out["slots_free"] = _metric(free, "info")
    return out


def _ticket_metrics(doc: Mapping[str, Any]) -> dict[str, Metric]:
    out = _shown(doc, TICKET)
    overdue = _get(doc, "tickets_overdue")
    out["overdue"] = _metric(overdue, "alarm" if overdue else "ok")  # any overdue ticket
    return out


def worst_metric(tile: Tile) -> str | None:
    """The tile's most severe metric (first in priority order on a tie), None if all ok."""
    priority = TICKET_PRIORITY if tile["kind"] == "ticket" else CONTACT_PRIORITY
    metrics = tile["metrics"]
    best = max(priority, key=lambda m: (SEVERITY[metrics[m]["state"]], -priority.index(m)))
    return best if SEVERITY[metrics[best]["state"]] >= SEVERITY["warn"] else None


def build_tile(
    channel: str, queue: str, doc: Mapping[str, Any] | None, published_at: float | None,
    now: float, stale_after: float,
) -> Tile:  # fmt: skip
    """``doc`` None: the queue is known (the index lists it) but its document has expired or
    was never read: a tile with no values, not live."""
    kind = "ticket" if channel == "ticket" else "contact"
    age = None if published_at is None else now - published_at
    metrics: dict[str, Metric] = {}
    target: dict[str, float | str | None] = {}
    timezone = None
    if doc is not None:
        metrics = _ticket_metrics(doc) if kind == "ticket" else _contact_metrics(doc)
        target = {
            "service_level": _get(doc, "target", "service_level"),
            "threshold_seconds": _get(doc, "target", "threshold_seconds"),
            "comparison": "<=" if doc.get("target", {}).get("comparison") == "<=" else "<",
            "resolution_seconds": _get(doc, "target", "resolution_seconds"),
        }
        tz = doc.get("timezone")
        timezone = tz if isinstance(tz, str) else None
    tile: Tile = {
        "id": f"{channel}:{queue}",
        "channel": channel,
        "queue": queue,
        "kind": kind,
        "published_at": published_at,
        "age": age,
        "live": doc is not None and age is not None and age <= stale_after,
        "timezone": timezone,
        "target": target,
        "metrics": metrics,
        "state": "none",
        "worst": None,
    }
    if metrics:
        tile["worst"] = worst_metric(tile)
        states = [
            metrics[m]["state"] for m in (TICKET_PRIORITY if kind == "ticket" else CONTACT_PRIORITY)
        ]
        tile["state"] = max(states, key=lambda s: SEVERITY[s])
    return tile


def trend(intervals: tuple[str, Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The day's closed intervals for a tile's bars, oldest first: the local start, the share
    kept (the queue's service level, or its ticket promises), and whether it met its target.
    Allow-listed, like the rest of a tile."""
    if intervals is None:
        return []
    _, rows = intervals
    out = []
    for start in sorted(rows):
        row = rows[start]
        if not isinstance(row, Mapping):
            continue
        met = row.get("met")
        out.append(
            {
                "at": str(start)[:5],
                "ratio": _num(row.get("ratio")),
                "target": _num(row.get("target")),
                "met": met if isinstance(met, bool) else None,
                "volume": _num(row.get("eligible")),
            }
        )
    return out


@dataclass(frozen=True)
class Filter:
    """A screen's choice of tiles: ``?channel=call,chat&queue=sales,support``. An empty set
    takes everything. Tiles come in the order of ``queue`` when it is given."""

    channels: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filter:
        def values(name: str) -> tuple[str, ...]:
            raw = query.get(name, "")
            return tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))

        return cls(values("channel"), values("queue"))

    def accepts(self, channel: str | None, queue: str | None) -> bool:
        """``None`` (an alert without the label) is accepted: it concerns every screen."""
        return (not self.channels or channel is None or channel in self.channels) and (
            not self.queues or queue is None or queue in self.queues
        )

    def select(self, tiles: Iterable[Tile]) -> list[Tile]:
        chosen = [t for t in tiles if self.accepts(t["channel"], t["queue"])]
        order = {q: i for i, q in enumerate(self.queues)}
        return sorted(
            chosen,
            key=lambda t: (
                order.get(t["queue"], 0),
                CHANNEL_ORDER.get(t["channel"], 9),
                t["queue"],
            ),
        )


def worst_tile(tiles: Iterable[Tile]) -> Tile | None:
    """The live tile a supervisor should look at first: the most severe state, then the
    service level furthest below (or closest above) its target, then the longest wait."""

    def rank(tile: Tile) -> tuple[float, float, float]:
        metrics = tile["metrics"]
        margin = 1.0
        if tile["kind"] == "contact":
            sl, target = metrics["sl_30m"]["value"], tile["target"].get("service_level")
            if sl is not None and target is not None:
                margin = sl - target
            wait = metrics["oldest_waiting"]["value"] or 0.0
        else:
            wait = metrics["oldest_open"]["value"] or 0.0
        return (SEVERITY[tile["state"]], -margin, wait)

    live = [t for t in tiles if t["live"] and t["metrics"]]
    return max(live, key=rank, default=None)
