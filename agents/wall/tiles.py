"""What a wall tile shows, computed from one read-model document. Pure: no I/O.

A tile is built from an allow-list of the document's fields, never by copying it, so the
feed can only carry what is listed here: aggregates, targets and the queue's name — no
contact or agent id can reach a screen even if a document one day holds one.

States are decided here, not in the browser, so that they are tested once and every screen
agrees: ``ok``, ``warn`` (at risk, approaching a limit), ``alarm`` (breached, past a
limit), ``none`` (no data: nothing offered yet, nobody waiting) and ``info`` (a count
with no limit). docs/wall.md lists the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CHANNEL_ORDER = {"call": 0, "chat": 1, "ticket": 2}
SEVERITY = {"alarm": 3, "warn": 2, "ok": 1, "info": 0, "none": 0}
# "At risk": the 30-minute service level is within this many points above its target.
AT_RISK_MARGIN = 0.05
# "Approaching" a limit: from this fraction of it (an oldest wait of 68 s against 90 s).
APPROACH = 0.75
CONTACT_PRIORITY = ("sl_30m", "oldest_waiting", "waiting", "abandon_30m", "blocking_30m")
TICKET_PRIORITY = ("overdue", "oldest_open")

Tile = dict[str, Any]
Metric = dict[str, Any]


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


def service_level_state(value: float | None, target: float, someone_late: bool) -> str:
    """Breached under the target; at risk just above it, or while a contact already waits
    past the threshold (the service level is about to drop)."""
    if value is None:
        return "none"
    if value < target:
        return "alarm"
    if value < target + AT_RISK_MARGIN - 1e-9 or someone_late:  # 0.80 + 0.05 is 0.8500...01
        return "warn"
    return "ok"


def limit_state(value: float | None, limit: float | None, *, inclusive: bool = True) -> str:
    """Past (or at, when ``inclusive``) the limit: alarm; from APPROACH of it: warn."""
    if value is None:
        return "none"
    if limit is None or limit <= 0:
        return "info"
    past = value >= limit if inclusive else value > limit
    if past:
        return "alarm"
    return "warn" if value > 0 and value >= APPROACH * limit else "ok"


def _contact_metrics(doc: Mapping[str, Any]) -> dict[str, Metric]:
    target = _get(doc, "target", "service_level") or 0.0
    threshold = _get(doc, "target", "threshold_seconds")
    oldest = _get(doc, "oldest_waiting_seconds")
    late = oldest is not None and threshold is not None and oldest >= threshold
    sl30 = _get(doc, "windows", "30m", "service_level")
    sl_today = _get(doc, "windows", "today", "service_level")
    waiting = _get(doc, "waiting")
    return {
        "sl_30m": _metric(sl30, service_level_state(sl30, target, late)),
        "waiting": _metric(waiting, limit_state(waiting, _get(doc, "limits", "waiting_contacts"))),
        "oldest_waiting": _metric(oldest, limit_state(oldest, threshold)),
        "asa_30m": _metric(_get(doc, "windows", "30m", "asa"), "info"),
        "abandon_30m": _metric(
            _get(doc, "windows", "30m", "abandon"),
            limit_state(
                _get(doc, "windows", "30m", "abandon"),
                _get(doc, "limits", "abandon_ratio"),
                inclusive=False,
            ),
        ),
        "blocking_30m": _metric(
            _get(doc, "windows", "30m", "blocking"),
            limit_state(
                _get(doc, "windows", "30m", "blocking"),
                _get(doc, "limits", "blocking_ratio"),
                inclusive=False,
            ),
        ),
        "offered_today": _metric(_get(doc, "windows", "today", "offered"), "info"),
        "sl_today": _metric(sl_today, service_level_state(sl_today, target, False)),
        **_agent_metrics(doc, target),
    }


def _agent_metrics(doc: Mapping[str, Any], target: float) -> dict[str, Metric]:
    """Staffed and available agents, and the live forecast: how many are needed for the
    target and the service level the current staffing predicts (docs/metrics.md)."""
    staffed = _get(doc, "agents", "staffed")
    shortfall = _get(doc, "agents", "forecast", "shortfall")
    predicted = _get(doc, "agents", "forecast", "service_level_predicted")
    short = "info" if shortfall is None else ("alarm" if shortfall > 0 else "ok")
    return {
        "agents_staffed": _metric(staffed, "info"),
        "agents_available": _metric(_get(doc, "agents", "available"), "info"),
        "agents_required": _metric(_get(doc, "agents", "forecast", "required"), short),
        "sl_predicted": _metric(predicted, service_level_state(predicted, target, False)),
    }


def _ticket_metrics(doc: Mapping[str, Any]) -> dict[str, Metric]:
    overdue = _get(doc, "tickets_overdue")
    oldest = _get(doc, "oldest_open_ticket_seconds")
    return {
        "backlog": _metric(_get(doc, "tickets_open"), "info"),
        "overdue": _metric(overdue, "alarm" if overdue else "ok"),
        "oldest_open": _metric(
            oldest, limit_state(oldest, _get(doc, "target", "resolution_seconds"))
        ),
        "created_today": _metric(_get(doc, "windows", "today", "created"), "info"),
        "resolved_today": _metric(_get(doc, "windows", "today", "resolved"), "info"),
    }


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
