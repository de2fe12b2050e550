"""Small Grafana JSON builders for deploy/grafana/build.py: one datasource, big stat fonts,
thresholds as (colour, value) steps, panels laid out left to right on the 24-column grid."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from typing import Any

# Colour steps: (colour, from value); the first step's value is None (the base colour).
Steps = Sequence[tuple[str, float | None]]

DS = {"type": "prometheus", "uid": "ccmon-prometheus"}
NEUTRAL: Steps = [("blue", None)]


def steps(spec: Steps) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in spec]}


def target(expr: str, legend: str = "", *, instant: bool = False, fmt: str = "") -> dict[str, Any]:
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        t.update(instant=True, range=False)
    if fmt:
        t["format"] = fmt
    return t


class Layout:
    """Places panels left to right, wrapping at 24 columns, and numbers them."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.panels: list[dict[str, Any]] = []

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self.x + w > 24:
            self.newline()
        panel["id"] = next(self.ids)
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        panel["datasource"] = DS
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def newline(self) -> None:
        self.y += self.row_h
        self.x = 0
        self.row_h = 0

    def row(self, title: str, repeat: str | None = None) -> None:
        if self.x:
            self.newline()
        panel: dict[str, Any] = {"type": "row", "title": title, "collapsed": False, "panels": []}
        if repeat:
            panel["repeat"] = repeat
        self.add(panel, 24, 1)
        self.newline()


def stat(
    title: str,
    targets: list[dict[str, Any]],
    unit: str,
    colours: Steps,
    *,
    big: bool = True,
    decimals: int | None = 0,
    description: str = "",
) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": steps(colours),
        "noValue": "-",
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": [dict(t, refId=chr(65 + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "center",
            "orientation": "auto",
            "textMode": "value_and_name",
            "text": {"titleSize": 22, "valueSize": 64 if big else 40},
        },
    }


def graph(
    title: str,
    targets: list[dict[str, Any]],
    unit: str = "short",
    *,
    description: str = "",
    stack: bool = False,
) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "targets": [dict(t, refId=chr(65 + i)) for i, t in enumerate(targets)],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {
                    "lineWidth": 2,
                    "fillOpacity": 10,
                    "stacking": {"mode": "normal" if stack else "none", "group": "A"},
                },
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def variable(name: str, query: str, label: str, *, hide: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-var"},
        "definition": query,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": hide,
    }


def dashboard(
    uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["ccmon"],
        "editable": False,
        "graphTooltip": 1,
        "style": "dark",
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": kw.get("time_from", "now-3h"), "to": "now"},
        "refresh": kw.get("refresh", "30s"),
        "timepicker": {"refresh_intervals": ["5s", "10s", "30s", "1m", "5m"]},
        "annotations": {"list": []},
        "links": kw.get("links", []),
        "templating": {"list": variables},
        "panels": panels,
    }
