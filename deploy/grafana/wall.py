"""The wall screen (uid ccmon-wall): a kiosk for supervisors, one row per queue.

Colours and their reasons: deploy/grafana/README.md."""

from __future__ import annotations

from typing import Any

from deploy.grafana.grafkit import (
    NEUTRAL,
    Layout,
    Steps,
    dashboard,
    graph,
    stat_panel,
    target,
    variable,
)

# Selector of the per-queue row: the row repeats per value of $queue, so $queue is one
# queue there; `=~` also works for "All" and multi-value selections elsewhere.
ALL = 'channel=~"$channel", queue=~"$queue"'
CALLS_CHATS = 'channel=~"$channel", channel!="ticket", queue=~"$queue"'
TICKETS = 'channel="ticket", queue=~"$queue"'

# Colour steps (first step has value None = base colour).
SL: Steps = [("red", None), ("orange", 0.7), ("green", 0.8)]  # default objective 80 %
SL_VS_TARGET: Steps = [("red", None), ("orange", -0.05), ("green", 0)]
WAITING: Steps = [("green", None), ("orange", 5), ("red", 10)]
OLDEST: Steps = [("green", None), ("orange", 60), ("red", 90)]  # default threshold T = 90 s
ASA: Steps = [("green", None), ("orange", 30), ("red", 60)]
ABANDON: Steps = [("green", None), ("orange", 0.05), ("red", 0.1)]
BLOCKING: Steps = [("green", None), ("orange", 0.02), ("red", 0.05)]
BACKLOG_TREND: Steps = [("green", None), ("orange", 0.5), ("red", 5)]
OVERDUE: Steps = [("green", None), ("red", 1)]
SHORTFALL: Steps = [("green", None), ("red", 1)]  # CcmonUnderstaffed: shortfall > 0


# ---------------------------------------------------------------- wall screen
def by_channel(metric: str, window: str | None = None, sel: str = CALLS_CHATS) -> str:
    w = f', window="{window}"' if window else ""
    return f"max by (channel) ({metric}{{{sel}{w}}})"


def wall() -> dict[str, Any]:
    lay = Layout()
    lay.row("Contact centre now")
    lay.add(
        stat_panel(
            "Offered today",
            [
                target(
                    "sum by (channel) (max by (channel, queue) "
                    f'(ccmon_window_contacts_offered{{{ALL}, window="today"}}))',
                    "{{channel}}",
                    instant=True,
                ),
                target(
                    f'sum(max by (queue) (ccmon_window_tickets_created{{{ALL}, window="today"}}))',
                    "ticket",
                    instant=True,
                ),
            ],
            "short",
            NEUTRAL,
        ),
        8,
        5,
    )
    lay.add(
        stat_panel(
            "Waiting now",
            [
                target(
                    f"sum(max by (channel, queue) (ccmon_contacts_waiting{{{CALLS_CHATS}}}))",
                    "all queues",
                    instant=True,
                )
            ],
            "short",
            WAITING,
        ),
        4,
        5,
    )
    lay.add(
        stat_panel(
            "Pages firing",
            [
                target(
                    'count(ALERTS{alertstate="firing", severity="page"}) or vector(0)',
                    "pages",
                    instant=True,
                )
            ],
            "short",
            [("green", None), ("red", 1)],
        ),
        4,
        5,
    )
    lay.add(
        graph(
            "Volume per channel (contacts per minute)",
            [
                target(
                    "sum by (channel) "
                    f"(rate(ccmon_contacts_offered_total{{{ALL}}}[$__rate_interval])) * 60",
                    "{{channel}} offered",
                ),
                target(
                    f"sum(rate(ccmon_tickets_created_total{{{ALL}}}[$__rate_interval])) * 60",
                    "tickets created",
                ),
            ],
            "short",
        ),
        8,
        5,
    )

    lay.row("Queue $queue", repeat="queue")
    oldest = (
        "(time() - min by (channel) "
        f"(ccmon_oldest_waiting_since_timestamp_seconds{{{CALLS_CHATS}}} > 0)"
        f" and on (channel) {by_channel('ccmon_contacts_waiting')} > 0)"
        f" or {by_channel('ccmon_contacts_waiting')} * 0"
    )
    vs_target = (
        f"{by_channel('ccmon:service_level:ratio30m')}"
        f" - on (channel) {by_channel('ccmon_service_level_target_ratio')}"
    )
    row: list[tuple[str, str, str, Steps, int]] = [
        (
            "Service level 30 min",
            by_channel("ccmon:service_level:ratio30m"),
            "percentunit",
            SL,
            0,
        ),
        ("SL vs target", vs_target, "percentunit", SL_VS_TARGET, 0),
        (
            "Service level today",
            by_channel("ccmon:service_level:ratio_today"),
            "percentunit",
            SL,
            0,
        ),
        ("Waiting", by_channel("ccmon_contacts_waiting"), "short", WAITING, 0),
        ("Oldest waiting", oldest, "s", OLDEST, 0),
        ("ASA 30 min", by_channel("ccmon:answer_wait:mean30m"), "s", ASA, 0),
        ("Abandoned 30 min", by_channel("ccmon:abandon:ratio30m"), "percentunit", ABANDON, 1),
        ("Blocked 30 min", by_channel("ccmon:blocking:ratio30m"), "percentunit", BLOCKING, 1),
    ]
    for title, expr, unit, colours, decimals in row:
        lay.add(
            stat_panel(
                title, [target(expr, "{{channel}}", instant=True)], unit, colours, decimals=decimals
            ),
            3,
            6,
        )

    # Agents and the live forecast (docs/metrics.md, "Agents and staffing").
    agents: list[tuple[str, str, Steps]] = [
        ("Agents staffed", "ccmon_agents_logged_in", NEUTRAL),
        ("Agents available", "ccmon_agents_available", NEUTRAL),
        ("Agents required", "ccmon_agents_required", NEUTRAL),
        ("Agents short", "ccmon_agents_shortfall", SHORTFALL),
    ]
    for title, metric, colours in agents:
        lay.add(
            stat_panel(
                title, [target(by_channel(metric), "{{channel}}", instant=True)], "short", colours
            ),
            3,
            6,
        )
    lay.add(
        graph(
            "Service level: predicted now vs observed 30 min",
            [
                target(by_channel("ccmon_service_level_predicted_ratio"), "predicted {{channel}}"),
                target(by_channel("ccmon:service_level:ratio30m"), "observed {{channel}}"),
            ],
            "percentunit",
            description="Predicted by Erlang A (or C) with the agents staffed now, at the "
            "traffic and handle time of the last 30 minutes.",
        ),
        12,
        6,
    )

    lay.row("Tickets")
    lay.add(
        stat_panel(
            "Backlog",
            [
                target(
                    f"max by (queue) (ccmon_tickets_open{{{TICKETS}}})", "{{queue}}", instant=True
                )
            ],
            "short",
            NEUTRAL,
        ),
        6,
        6,
    )
    lay.add(
        stat_panel(
            "Backlog trend (tickets per hour)",
            [
                target(
                    f"max by (queue) (deriv(ccmon_tickets_open{{{TICKETS}}}[1h])) * 3600",
                    "{{queue}}",
                    instant=True,
                )
            ],
            "short",
            BACKLOG_TREND,
            decimals=1,
        ),
        6,
        6,
    )
    lay.add(
        stat_panel(
            "Overdue",
            [
                target(
                    f"max by (queue) (ccmon_tickets_overdue{{{TICKETS}}})",
                    "{{queue}}",
                    instant=True,
                )
            ],
            "short",
            OVERDUE,
        ),
        6,
        6,
    )
    lay.add(
        graph(
            "Backlog", [target(f"max by (queue) (ccmon_tickets_open{{{TICKETS}}})", "{{queue}}")]
        ),
        6,
        6,
    )
    return dashboard(
        "ccmon-wall",
        "ccmon wall screen",
        lay,
        [
            variable("channel", "label_values(ccmon_queue_info, channel)", "Channel"),
            variable(
                "queue", 'label_values(ccmon_queue_info{channel=~"$channel"}, queue)', "Queue"
            ),
        ],
        refresh="5s",
        time_from="now-1h",
        links=[("Operations", "/d/ccmon-ops/ccmon-operations")],
    )
