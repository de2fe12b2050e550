"""The wall screen (uid ccmon-wall): a kiosk for supervisors, one row per queue.

Colours and their reasons: deploy/grafana/README.md."""

from __future__ import annotations

from typing import Any

from deploy.grafana.grafkit import (
    NEUTRAL,
    Layout,
    Step,
    Steps,
    dashboard,
    graph,
    stat_panel,
    target,
    threshold_stat,
    variable,
)

# Selector of the per-queue row: the row repeats per value of $queue, so $queue is one
# queue there; `=~` also works for "All" and multi-value selections elsewhere.
ALL = 'channel=~"$channel", queue=~"$queue"'
CALLS_CHATS = 'channel=~"$channel", channel!="ticket", queue=~"$queue"'
TICKETS = 'channel="ticket", queue=~"$queue"'


# Thresholds from the threshold model (ccmon.streams.thresholds) as the workers export it: per
# KPI the limit and the at-risk level, per channel x queue. A higher-is-better KPI (the
# service level): red below the target, orange up to the at-risk level, green from it; the
# others: green, orange from the at-risk level, red from the limit. The first step only
# gives the base colour. The ccmon wall decides its states by the same levels, from the read
# model (tests/integration/wall/test_two_walls.py checks that both agree).
def higher_is_better(breached: str, at_risk: str) -> list[Step]:
    return [(breached, "red"), (breached, "orange"), (at_risk, "green")]


def lower_is_better(at_risk: str, breached: str) -> list[Step]:
    return [(at_risk, "green"), (at_risk, "orange"), (breached, "red")]


# Rules rather than tuned numbers: any overdue ticket, any missing agent, any page.
OVERDUE: Steps = [("green", None), ("red", 1)]
SHORTFALL: Steps = [("green", None), ("red", 1)]  # CcmonUnderstaffed: shortfall > 0
PAGES: Steps = [("green", None), ("red", 1)]


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
                ),
                # Callbacks to place: contacts of their own, out of "waiting" (exported
                # once a queue has had a callback request).
                target(
                    "sum(max by (channel, queue) "
                    f"(ccmon_callbacks_waiting{{{CALLS_CHATS}}})) or vector(0)",
                    "callbacks",
                    instant=True,
                ),
            ],
            "short",
            NEUTRAL,  # a sum over queues has no limit of its own
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
            PAGES,
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
    sl = by_channel("ccmon_service_level_target_ratio")
    sl_steps = higher_is_better(sl, by_channel("ccmon_service_level_at_risk_ratio"))

    def limit(at_risk: str, breached: str) -> list[Step]:
        return lower_is_better(by_channel(at_risk), by_channel(breached))

    row: list[tuple[str, str, str, list[Step], int]] = [
        ("Service level 30 min", by_channel("ccmon:service_level:ratio30m"), "percentunit",
         sl_steps, 0),
        ("Offered 30 min", by_channel("ccmon_window_contacts_offered", "30m"), "short", [], 0),
        ("Service level today", by_channel("ccmon:service_level:ratio_today"), "percentunit",
         sl_steps, 0),
        ("Waiting", by_channel("ccmon_contacts_waiting"), "short",
         limit("ccmon_contacts_waiting_at_risk", "ccmon_contacts_waiting_limit"), 0),
        ("Oldest waiting", oldest, "s",
         limit("ccmon_oldest_waiting_at_risk_seconds", "ccmon_service_level_threshold_seconds"),
         0),
        ("ASA 30 min", by_channel("ccmon:answer_wait:mean30m"), "s", [], 0),
        ("Abandoned 30 min", by_channel("ccmon:abandon:ratio30m"), "percentunit",
         limit("ccmon_abandon_ratio_at_risk", "ccmon_abandon_ratio_limit"), 1),
        ("Blocked 30 min", by_channel("ccmon:blocking:ratio30m"), "percentunit",
         limit("ccmon_blocking_ratio_at_risk", "ccmon_blocking_ratio_limit"), 1),
    ]  # fmt: skip
    for title, expr, unit, steps, decimals in row:
        lay.add(threshold_stat(title, expr, steps, unit, decimals=decimals), 3, 6)

    # Agents and the live forecast (docs/metrics.md, "Agents and staffing").
    # Slots free: what can take a chat (an agent with 1 of 3 chats is not available but has
    # room); for calls, one slot per agent, so the free agents.
    slots_free = f"{by_channel('ccmon_agent_slots')} - {by_channel('ccmon_agent_slots_busy')}"
    agents: list[tuple[str, str, Steps]] = [
        ("Agents staffed", by_channel("ccmon_agents_logged_in"), NEUTRAL),
        ("Agents available", by_channel("ccmon_agents_available"), NEUTRAL),
        ("Slots free", slots_free, NEUTRAL),
        ("Agents required", by_channel("ccmon_agents_required"), NEUTRAL),
        ("Agents short", by_channel("ccmon_agents_shortfall"), SHORTFALL),
    ]
    for title, expr, colours in agents:
        lay.add(
            stat_panel(title, [target(expr, "{{channel}}", instant=True)], "short", colours), 3, 6
        )
    # Requested callbacks not placed yet (0 where the queue never had one).
    callbacks = (
        f"{by_channel('ccmon_callbacks_waiting')} or {by_channel('ccmon_contacts_waiting')} * 0"
    )
    lay.add(
        stat_panel(
            "Callbacks waiting",
            [target(callbacks, "{{channel}}", instant=True)],
            "short",
            NEUTRAL,
            description="Customers who asked to be called back and are not called yet: "
            "contacts of their own, not in Waiting (docs/metrics.md, 'Queue exits').",
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
            description="Predicted by Erlang A (or C; on slots for chats) with the agents "
            "staffed now, at the traffic and handle time of the last 30 minutes.",
        ),
        6,
        6,
    )

    lay.row("Tickets")

    def by_queue(metric: str) -> str:
        return f"max by (queue) ({metric}{{{TICKETS}}})"

    lay.add(
        threshold_stat(
            "Backlog",
            by_queue("ccmon_tickets_open"),
            lower_is_better(
                by_queue("ccmon_tickets_open_at_risk"), by_queue("ccmon_tickets_open_limit")
            ),
            "short",
            name_label="queue",
        ),
        5,
        6,
    )
    overdue = target(by_queue("ccmon_tickets_overdue"), "{{queue}}", instant=True)
    lay.add(stat_panel("Overdue", [overdue], "short", OVERDUE), 5, 6)
    resolution = by_queue("ccmon_ticket_resolution_target_seconds")
    lay.add(
        threshold_stat(
            "Oldest open",
            "time() - min by (queue) "
            f"(ccmon_oldest_open_ticket_since_timestamp_seconds{{{TICKETS}}} > 0)",
            [(resolution, "green"), (resolution, "red")],
            "s",
            name_label="queue",
        ),
        5,
        6,
    )
    trend = target(
        f"max by (queue) (deriv(ccmon_tickets_open{{{TICKETS}}}[1h])) * 3600", "{{queue}}",
        instant=True,
    )  # fmt: skip
    lay.add(
        stat_panel("Backlog trend (tickets per hour)", [trend], "short", NEUTRAL, decimals=1), 4, 6
    )
    lay.add(graph("Backlog", [target(by_queue("ccmon_tickets_open"), "{{queue}}")]), 5, 6)
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
