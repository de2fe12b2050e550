"""The few builders wall.py and ops.py need, on grafana-foundation-sdk (Grafana's typed
builders for its dashboard schema): one datasource (the ``$datasource`` variable), big stat
fonts, thresholds as (colour, value) steps or read from the exported threshold gauges,
panels laid out left to right on the 24-column grid."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import common, heatmap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.heatmap import HeatmapColorMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

# Colour steps: (colour, from value); the first step's value is None (the base colour).
Steps = Sequence[tuple[str, float | None]]
Panel = stat.Panel | timeseries.Panel | heatmap.Panel | table.Panel
Query = prometheus.Dataquery

# Every panel, query and variable names the datasource through the `datasource` variable,
# so that a dashboard loads unchanged into any Grafana (kube-prometheus-stack's included):
# its default is the instance's default Prometheus (ours is provisioned as the default).
DATASOURCE_VARIABLE = "datasource"
DS = model.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")
NEUTRAL: Steps = [("blue", None)]
# A threshold step from a query: (PromQL of one value per row, its colour); the first is
# the base colour (Grafana gives values below every step the first step's colour).
Step = tuple[str, str]


def thresholds(spec: Steps) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(color=c, value=v) for c, v in spec])
    )


def target(expr: str, legend: str = "", *, instant: bool = False, fmt: str = "") -> Query:
    query = prometheus.Dataquery().datasource(DS).expr(expr).legend_format(legend or "__auto")
    if instant:
        query = query.instant()
    if fmt:
        query = query.format(PromQueryFormat(fmt))
    return query


def _targets(panel: Any, targets: list[Query]) -> Any:
    return panel.targets([t.ref_id(chr(65 + i)) for i, t in enumerate(targets)])


class Layout:
    """Places panels left to right, wrapping at 24 columns, and numbers them."""

    def __init__(self) -> None:
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.items: list[tuple[str, Any]] = []

    def add(self, panel: Panel, w: int, h: int) -> None:
        if self.x + w > 24:
            self.newline()
        panel.id(self.next_id).grid_pos(model.GridPos(h=h, w=w, x=self.x, y=self.y))
        self.next_id += 1
        self.items.append(("panel", panel))
        self.x += w
        self.row_h = max(self.row_h, h)

    def newline(self) -> None:
        self.y += self.row_h
        self.x = 0
        self.row_h = 0

    def row(self, title: str, repeat: str | None = None) -> None:
        if self.x:
            self.newline()
        row = (
            db.Row(title)
            .id(self.next_id)
            .datasource(DS)
            .grid_pos(model.GridPos(h=1, w=24, x=0, y=self.y))
        )
        self.next_id += 1
        if repeat:
            row = row.repeat(repeat)
        self.items.append(("row", row))
        self.y += 1


def stat_panel(
    title: str,
    targets: list[Query],
    unit: str,
    colours: Steps,
    *,
    big: bool = True,
    decimals: int | None = 0,
    description: str = "",
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .color_scheme(db.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .thresholds(thresholds(colours))
        .no_value("-")
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False))
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .justify_mode(cm.BigValueJustifyMode.CENTER)
        .orientation(cm.VizOrientation.AUTO)
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
        .text(common.VizTextDisplayOptions().title_size(22).value_size(64 if big else 40))
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    return _targets(panel, targets)  # type: ignore[no-any-return]


def graph(
    title: str,
    targets: list[Query],
    unit: str = "short",
    *,
    description: str = "",
    stack: bool = False,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .line_width(2)
        .fill_opacity(10)
        .stacking(
            common.StackingConfig()
            .mode(cm.StackingMode.NORMAL if stack else cm.StackingMode.NONE)
            .group("A")
        )
        .legend(
            common.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common.VizTooltipOptions()
            .mode(cm.TooltipDisplayMode.MULTI)
            .sort(cm.SortOrder.DESCENDING)
        )
    )
    return _targets(panel, targets)  # type: ignore[no-any-return]


def heatmap_panel(title: str, targets: list[Query], unit: str = "s") -> heatmap.Panel:
    """Pre-computed Prometheus histogram buckets (``fmt="heatmap"``), not recalculated."""
    panel = (
        heatmap.Panel()
        .title(title)
        .datasource(DS)
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit(unit))
        .color(heatmap.HeatmapColorOptions().mode(HeatmapColorMode.SCHEME).scheme("Oranges"))
    )
    return _targets(panel, targets)  # type: ignore[no-any-return]


def threshold_stat(
    title: str,
    value: str,
    steps: Sequence[Step],
    unit: str,
    *,
    name_label: str = "channel",
    decimals: int | None = 0,
) -> stat.Panel:
    """One value per ``name_label`` (a channel, a queue), each coloured by thresholds of its
    own read from the exported threshold gauges, never from numbers fixed here: the
    queries run as tables, *merge* joins them on their labels, and *rows to fields* makes
    each row a field whose value is the first query's and whose threshold steps are the
    others', in order, with their colours (Grafana's fieldToConfigMapping ``threshold1``).
    A row without the gauges keeps the panel's neutral colour."""
    queries = [target(value, "", instant=True, fmt="table")]
    queries += [target(expr, "", instant=True, fmt="table") for expr, _ in steps]
    mappings: list[dict[str, Any]] = [
        {"fieldName": "Time", "handlerKey": "__ignore"},
        {"fieldName": name_label, "handlerKey": "field.name"},
        {"fieldName": "Value #A", "handlerKey": "field.value"},
    ]
    for i, (_, colour) in enumerate(steps):
        mappings.append(
            {
                "fieldName": f"Value #{chr(66 + i)}",
                "handlerKey": "threshold1",
                "handlerArguments": {"threshold": {"color": colour}},
            }
        )
    panel = stat_panel(title, queries, unit, NEUTRAL, decimals=decimals)
    panel = panel.with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
    return panel.with_transformation(
        model.DataTransformerConfig(id_val="rowsToFields", options={"mappings": mappings})
    )


def datasource_variable() -> db.DatasourceVariable:
    return db.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")


def table_panel(title: str, targets: list[Query], *, description: str = "") -> table.Panel:
    panel = table.Panel().title(title).description(description).datasource(DS).show_header(True)
    return _targets(panel, targets)  # type: ignore[no-any-return]


def variable(name: str, query: str, label: str, *, hide: bool = False) -> db.QueryVariable:
    variable = (
        db.QueryVariable(name)
        .label(label)
        .datasource(DS)
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    if hide:
        variable = variable.hide(model.VariableHide.HIDE_VARIABLE)
    return variable


def dashboard(
    uid: str,
    title: str,
    layout: Layout,
    variables: list[db.QueryVariable],
    *,
    time_from: str = "now-3h",
    refresh: str = "30s",
    links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The dashboard as the JSON Grafana provisioning reads."""
    board = (
        db.Dashboard(title)
        .uid(uid)
        .tags(["ccmon"])
        .editable()
        .readonly()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .timepicker(db.TimePicker().refresh_intervals(["5s", "10s", "30s", "1m", "5m"]))
        .links(
            [
                db.DashboardLink(text).type(model.DashboardLinkType.LINK).url(url)
                for text, url in links
            ]
        )
    )
    for kind, item in layout.items:
        board = board.with_row(item) if kind == "row" else board.with_panel(item)
    board = board.with_variable(datasource_variable())
    for v in variables:
        board = board.with_variable(v)
    encoded: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(board.build()))
    return encoded
