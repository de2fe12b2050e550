"""Read the PromQL out of ccmon's Grafana dashboards, ready to send to Prometheus.

Shared by tests/unit/alerts/test_dashboards.py (syntax and metric-name checks) and the
end-to-end test (runs every panel query against a live Prometheus):

    from alerts.dashboards import iter_dashboard_queries
    for expr in iter_dashboard_queries("deploy/grafana/dashboards/ccmon-wall.json"):
        ...  # GET /api/v1/query?query=expr

``alerts`` is a package of the repository, not of the wheel: the repository root must be
on ``sys.path``, as it is under ``python -m pytest`` from the root.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"

# What Grafana would put in the place of its variables, chosen so every query is valid
# PromQL and matches whatever a live Prometheus has: the dashboards use `=~"$queue"`
# style matchers, so a regex matching every value stands in for "All".
DEFAULT_VARIABLES: dict[str, str] = {
    "channel": ".+",
    "queue": ".+",
    "topic": ".+",
    "instance": ".+",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def substitute(expr: str, variables: Mapping[str, str] | None = None) -> str:
    """Replace Grafana's ``$var``, ``${var}``, ``${var:fmt}`` and ``[[var]]``.

    Raises KeyError for a variable with no value, so a new dashboard variable cannot slip
    through the end-to-end test unnoticed.
    """
    values = {**DEFAULT_VARIABLES, **(variables or {})}

    def repl(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name.isdigit():  # "$1" of label_replace is PromQL's, not Grafana's
            return match.group(0)
        if name not in values:
            raise KeyError(f"no value for Grafana variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(repl, expr)


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        # Collapsed rows keep their panels inside.
        yield from _panels(panel.get("panels", []))


def iter_panels(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every panel of a dashboard JSON file, rows and panels of collapsed rows included."""
    board = json.loads(Path(path).read_text(encoding="utf-8"))
    return list(_panels(board.get("panels", [])))


def panel_queries(
    path: str | os.PathLike[str], variables: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(panel title, PromQL with variables substituted) for every target of every panel."""
    return [
        (panel.get("title", ""), substitute(target["expr"], variables))
        for panel in iter_panels(path)
        for target in panel.get("targets", [])
        if target.get("expr") and not target.get("hide")
    ]


def iter_dashboard_queries(
    path: str | os.PathLike[str], variables: Mapping[str, str] | None = None
) -> list[str]:
    """Every panel query of the dashboard at ``path``, in panel order, runnable as is.

    ``variables`` overrides DEFAULT_VARIABLES, e.g. ``{"queue": "sales"}`` to aim at the
    queue a test fed with events.
    """
    return [expr for _, expr in panel_queries(path, variables)]


# ---------------------------------------------------------------- metric names in PromQL
_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "atan2", "start", "end",
}  # fmt: skip
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_CLAUSE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_OFFSET = re.compile(r"\boffset\s+-?\w+")
_NAME = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    """The metric (and recording-rule) names a PromQL expression reads."""
    text = _STRING.sub('""', expr)
    names = {m.group(1) for m in re.finditer(r"__name__\s*=\s*\"([^\"]+)\"", expr)}
    text = _MATCHERS.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _CLAUSE.sub(" ", text)
    text = _OFFSET.sub(" ", text)
    names |= {m.group(1) for m in _NAME.finditer(text) if m.group(1).lower() not in _KEYWORDS}
    return names
