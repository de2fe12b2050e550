"""Grafana's wall screen, evaluated in Python: the colour each stat panel gives each of its
values, from the committed dashboard JSON and a live Prometheus.

It does what Grafana does with the parts of the schema our generated dashboards use, after
Grafana's own sources (so that a test can hold the two walls to one threshold model
without a Grafana server):

- instant queries: ``format: table`` gives one frame per query, a row per series, its labels
  as columns and its value as ``Value #<refId>`` (@grafana/prometheus, transformDFToTable);
  a time-series query gives one value per series, named by its legend format;
- the ``merge`` transformation: one table, rows of equal labels joined (an outer join);
- ``rowsToFields``: a field per row, named by the ``field.name`` column, valued by the
  ``field.value`` column, whose ``threshold1`` columns push threshold steps in column order
  with their ``handlerArguments`` colour (fieldToConfigMapping.ts);
- a field without thresholds of its own takes the panel's defaults;
- the colour: the last step whose value is at most the value, scanning in order from the
  first, which is the base whatever its value (getActiveThreshold, field/thresholds.ts).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from alerts.dashboards import substitute

# The colours the generated dashboards use, as the states of the ccmon wall.
STATE_OF_COLOUR = {"red": "alarm", "orange": "warn", "green": "ok", "blue": "info"}
Row = dict[str, Any]
LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Shown:
    """One value of a stat panel as Grafana draws it."""

    value: float | None
    colour: str

    @property
    def state(self) -> str:
        return "none" if self.value is None else STATE_OF_COLOUR[self.colour]


def instant(prometheus: str, expr: str) -> list[tuple[dict[str, str], float]]:
    query = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query?{query}", timeout=10) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return [
        ({k: v for k, v in s["metric"].items() if k != "__name__"}, float(s["value"][1]))
        for s in body["data"]["result"]
    ]


def active_colour(value: float | None, steps: list[tuple[float | None, str]]) -> str:
    """getActiveThreshold: the first step is the base; a step of value None is -Infinity."""
    if not steps:
        return "blue"
    active = steps[0][1]
    for step, colour in steps:
        if step is None or (value is not None and value >= step):
            active = colour
        else:
            break
    return active


def _default_steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(s["value"], s["color"]) for s in steps]


def _frames(prometheus: str, panel: dict[str, Any], variables: dict[str, str]) -> list[list[Row]]:
    frames = []
    for target in panel["targets"]:
        value = f"Value #{target['refId']}"
        rows = [
            {**labels, value: v}
            for labels, v in instant(prometheus, substitute(target["expr"], variables))
        ]
        frames.append(rows)
    return frames


def merge(frames: list[list[Row]], value_columns: list[str]) -> list[Row]:
    """Grafana's merge of table frames: rows with the same label values become one row."""
    merged: dict[tuple[tuple[str, Any], ...], Row] = {}
    for rows in frames:
        for row in rows:
            key = tuple(sorted((k, v) for k, v in row.items() if k not in value_columns))
            merged.setdefault(key, dict(key)).update(row)
    return list(merged.values())


def _rows_to_fields(
    panel: dict[str, Any], rows: list[Row], value_columns: list[str]
) -> dict[str, Shown]:
    (options,) = [t["options"] for t in panel["transformations"] if t["id"] == "rowsToFields"]
    by_column = {m["fieldName"]: m for m in options["mappings"]}
    name = next(m["fieldName"] for m in options["mappings"] if m["handlerKey"] == "field.name")
    value = next(m["fieldName"] for m in options["mappings"] if m["handlerKey"] == "field.value")
    out = {}
    for row in rows:
        steps: list[tuple[float | None, str]] = []
        for column in value_columns:  # the merged frame's column order: the queries' order
            mapping = by_column.get(column)
            if mapping and mapping["handlerKey"] == "threshold1" and row.get(column) is not None:
                colour = (
                    mapping.get("handlerArguments", {}).get("threshold", {}).get("color", "red")
                )
                steps.append((row[column], colour))
        steps = steps or _default_steps(panel)
        shown = row.get(value)
        out[str(row[name])] = Shown(shown, active_colour(shown, steps))
    return out


def panel_values(
    prometheus: str, panel: dict[str, Any], variables: dict[str, str]
) -> dict[str, Shown]:
    """What a stat panel shows: its values by name, each with its colour."""
    transforms = [t["id"] for t in panel.get("transformations", [])]
    frames = _frames(prometheus, panel, variables)
    if transforms == ["merge", "rowsToFields"]:
        columns = [f"Value #{t['refId']}" for t in panel["targets"]]
        return _rows_to_fields(panel, merge(frames, columns), columns)
    assert not transforms, f"{panel['title']}: transformations {transforms} not evaluated here"
    out = {}
    for target, rows in zip(panel["targets"], frames, strict=True):
        legend = target.get("legendFormat", "")
        for row in rows:
            name = LEGEND.sub(lambda m, row=row: str(row.get(m.group(1), "")), legend)
            shown = row[f"Value #{target['refId']}"]
            out[name] = Shown(shown, active_colour(shown, _default_steps(panel)))
    return out
