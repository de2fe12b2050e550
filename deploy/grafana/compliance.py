"""The compliance dashboard (uid ccmon-compliance): days met out of days open this month,
per queue, from the closed day records the workers export as gauges (docs/metrics.md,
"Closed records"). The month's record itself, day by day and printable, is `ccmon report`.

A day is met when none of its queue's promises was missed; colours: green when every open
day so far was met, orange from 80 %, red below (deploy/grafana/README.md)."""

from __future__ import annotations

from typing import Any

from deploy.grafana.grafkit import (
    Layout,
    Steps,
    dashboard,
    stat_panel,
    table_panel,
    target,
    variable,
)

SEL = 'channel=~"$channel", queue=~"$queue"'
DAYS_MET: Steps = [("red", None), ("orange", 0.8), ("green", 1)]
MISSED: Steps = [("green", None), ("red", 1)]


def compliance() -> dict[str, Any]:
    lay = Layout()
    met = f"max by (channel, queue) (ccmon_compliance_days_met{{{SEL}}})"
    opened = f"max by (channel, queue) (ccmon_compliance_days_open{{{SEL}}})"
    lay.row("This month: days met out of days open")
    lay.add(
        stat_panel(
            "Days met",
            [target(f"{met} / ({opened} > 0)", "{{channel}} {{queue}}", instant=True)],
            "percentunit",
            DAYS_MET,
            decimals=0,
            description="Closed days of this local month with business hours in which none "
            "of the queue's promises was missed (service level for calls and chats; first "
            "reply, next reply and resolution for tickets).",
        ),
        24,
        8,
    )
    lay.add(
        stat_panel(
            "Days missed",
            [target(f"{opened} - {met}", "{{channel}} {{queue}}", instant=True)],
            "short",
            MISSED,
            big=False,
            description="Open days with a promise missed; `ccmon report` says which and why.",
        ),
        12,
        8,
    )
    lay.add(
        table_panel(
            "Days open and met, per queue",
            [
                target(opened, "open", instant=True, fmt="table"),
                target(met, "met", instant=True, fmt="table"),
            ],
            description="Updated as each day closes (and when a late event revises one).",
        ),
        12,
        8,
    )
    return dashboard(
        "ccmon-compliance",
        "ccmon compliance",
        lay,
        [
            variable("channel", "label_values(ccmon_compliance_days_open, channel)", "Channel"),
            variable(
                "queue",
                'label_values(ccmon_compliance_days_open{channel=~"$channel"}, queue)',
                "Queue",
            ),
        ],
        refresh="1m",
        time_from="now-24h",
        links=[("Wall screen", "/d/ccmon-wall/ccmon-wall-screen")],
    )
