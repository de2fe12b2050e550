"""The operations dashboard (uid ccmon-ops): the pipeline behind the numbers."""

from __future__ import annotations

from typing import Any

from deploy.grafana.grafkit import (
    NEUTRAL,
    Layout,
    Steps,
    dashboard,
    graph,
    heatmap_panel,
    stat_panel,
    table_panel,
    target,
    variable,
)

UP: Steps = [("red", None), ("green", 1)]
# Seconds since the last event of a topic; CcmonEventSourceSilent pages at 10 min for calls.
AGE: Steps = [("green", None), ("orange", 300), ("red", 600)]


def ops() -> dict[str, Any]:
    lay = Layout()
    topic = 'topic=~"$topic"'
    inst = 'instance=~"$instance"'
    ri = "[$__rate_interval]"
    processing = f"rate(ccmon_batch_seconds_bucket{{{inst}}}{ri})"
    commit = f"rate(ccmon_faust_commit_seconds_bucket{{{inst}}}{ri})"
    lay.row("Workers")
    for title, expr, legend, steps in (
        ("Workers up", f'up{{job="ccmon", {inst}}}', "{{instance}}", UP),
        ("Partitions assigned", f"ccmon_partitions_assigned{{{inst}}}", "{{instance}}", NEUTRAL),
        ("Versions", "count by (version) (ccmon_worker_info)", "{{version}}", NEUTRAL),
    ):
        panel = stat_panel(title, [target(expr, legend, instant=True)], "short", steps, big=False)
        lay.add(panel, 8, 5)
    lay.add(
        graph(
            "Batch processing time",
            [
                target(
                    f"histogram_quantile(0.5, sum by (stage, le) ({processing}))",
                    "p50 {{stage}}",
                ),
                target(
                    f"histogram_quantile(0.99, sum by (stage, le) ({processing}))",
                    "p99 {{stage}}",
                ),
                target(
                    f"histogram_quantile(0.99, sum by (instance, le) ({processing}))",
                    "p99 {{instance}}",
                ),
            ],
            "s",
        ),
        8,
        8,
    )
    heat = heatmap_panel(
        "Batch processing time distribution",
        [
            target(
                f"sum by (le) (rate(ccmon_batch_seconds_bucket{{{inst}}}{ri}))",
                "{{le}}",
                fmt="heatmap",
            )
        ],
    )
    lay.add(heat, 8, 8)
    lay.add(
        graph(
            "Commit time and rebalances",
            [
                target(
                    f"histogram_quantile(0.99, sum by (le) ({commit}))",
                    "commit p99 (s)",
                ),
                target(f"sum(increase(ccmon_faust_rebalances_total{{{inst}}}{ri}))", "rebalances"),
            ],
        ),
        8,
        8,
    )

    lay.row("Kafka")
    lay.add(
        graph(
            "Consumer lag per partition",
            [
                target(
                    f"max by (topic, partition) (ccmon_consumer_lag{{{topic}}})",
                    "{{topic}} [{{partition}}]",
                )
            ],
        ),
        12,
        8,
    )
    lay.add(
        graph(
            "Last event age per topic",
            [
                target(
                    f"time() - max by (topic) (ccmon_last_event_timestamp_seconds{{{topic}}})",
                    "{{topic}}",
                )
            ],
            "s",
            description="Wall-clock time since the last record arrived (CcmonEventSourceSilent).",
        ),
        8,
        8,
    )
    lay.add(
        stat_panel(
            "Last event age",
            [
                target(
                    f"time() - max by (topic) (ccmon_last_event_timestamp_seconds{{{topic}}})",
                    "{{topic}}",
                    instant=True,
                )
            ],
            "s",
            AGE,
            big=False,
        ),
        4,
        8,
    )

    lay.row("Events")
    lay.add(
        graph(
            "Events per second by topic",
            [target(f"sum by (topic) (rate(ccmon_events_total{{{topic}}}{ri}))", "{{topic}}")],
            "ops",
        ),
        8,
        8,
    )
    lay.add(
        graph(
            "Events per second by type",
            [
                target(
                    f"sum by (topic, type) (rate(ccmon_events_total{{{topic}}}{ri}))",
                    "{{topic}} {{type}}",
                )
            ],
            "ops",
            stack=True,
        ),
        8,
        8,
    )
    lay.add(
        graph(
            "Records received (Faust)",
            [
                target(
                    f"sum by (topic) (rate(ccmon_faust_messages_received_total{{{topic}}}{ri}))",
                    "{{topic}}",
                )
            ],
            "ops",
        ),
        8,
        8,
    )
    lay.add(
        graph(
            "Rejected events by reason",
            [
                target(
                    f"sum by (topic, reason) (rate(ccmon_events_rejected_total{{{topic}}}{ri}))",
                    "{{topic}} {{reason}}",
                )
            ],
            "ops",
            stack=True,
        ),
        8,
        8,
    )
    lay.add(
        graph(
            "Duplicates, late events, queue overflow",
            [
                target(
                    f"sum by (channel) (rate(ccmon_events_duplicate_total{ri}))",
                    "duplicate {{channel}}",
                ),
                target(f"sum by (channel) (rate(ccmon_events_late_total{ri}))", "late {{channel}}"),
                target(
                    f"sum by (channel) (rate(ccmon_events_queue_overflow_total{ri}))",
                    "overflow {{channel}}",
                ),
            ],
            "ops",
        ),
        8,
        8,
    )
    lay.add(
        graph(
            "Contacts expired / wait unknown",
            [
                target(
                    # Exported once non-zero: 0 per channel until then, not "no data".
                    f"sum by (channel) (rate(ccmon_contacts_expired_total{ri}))"
                    " or sum by (channel) (ccmon_contacts_offered_total) * 0",
                    "expired {{channel}}",
                ),
                target(
                    f"sum by (channel) (rate(ccmon_contacts_wait_unknown_total{ri}))"
                    " or sum by (channel) (ccmon_contacts_offered_total) * 0",
                    "wait unknown {{channel}}",
                ),
            ],
            "ops",
        ),
        8,
        8,
    )

    # Queue exits besides answers and abandons (docs/metrics.md, "Queue exits"): counters
    # exported once non-zero, so each falls back to 0 per channel.
    zero = " or sum by (channel) (ccmon_contacts_offered_total) * 0"
    lay.add(
        graph(
            "Queue exits: callbacks, flow-outs, transfers, abandons on hold",
            [
                target(
                    f"sum by (channel) (rate({metric}{ri})){zero}",
                    f"{legend} {{{{channel}}}}",
                )
                for metric, legend in (
                    ("ccmon_contacts_callbacks_requested_total", "callback requested"),
                    ("ccmon_contacts_flowed_out_total", "flowed out"),
                    ("ccmon_contacts_transferred_total", "transferred"),
                    ("ccmon_contacts_abandoned_on_hold_total", "abandoned on hold"),
                    ("ccmon_callback_promises_missed_total", "callback promise missed"),
                )
            ],
            "ops",
        ),
        8,
        8,
    )
    lay.add(
        graph(
            "Exits that did not fit (by rule)",
            [
                target(
                    f"sum by (rule) (rate(ccmon_contact_exits_irregular_total{ri}))"
                    " or sum(ccmon_contacts_offered_total) * 0",
                    "{{rule}}",
                )
            ],
            "ops",
            description="not_offered: an exit whose offer was never read; repeated: a second "
            "exit of one visit, not counted again; unknown_target: a flow-out or transfer to a "
            "queue that is not configured, offered nowhere (docs/events.md, 'Queue exits').",
        ),
        8,
        8,
    )

    lay.row("Staffing (forecast: Erlang C/A, on slots for chats)")
    per_queue = "max by (channel, queue)"
    lay.add(
        graph(
            "Agents staffed, available and required per queue",
            [
                target(f"{per_queue} (ccmon_agents_logged_in)", "staffed {{channel}} {{queue}}"),
                target(f"{per_queue} (ccmon_agents_available)", "available {{channel}} {{queue}}"),
                target(f"{per_queue} (ccmon_agents_required)", "required {{channel}} {{queue}}"),
            ],
            "short",
            description="An agent in several queues counts in each (docs/metrics.md).",
        ),
        12,
        8,
    )
    lay.add(
        graph(
            "Predicted vs observed service level per queue",
            [
                target(
                    f"{per_queue} (ccmon_service_level_predicted_ratio)",
                    "predicted {{channel}} {{queue}}",
                ),
                target(
                    f"{per_queue} (ccmon:service_level:ratio30m)",
                    "observed 30m {{channel}} {{queue}}",
                ),
            ],
            "percentunit",
            description="Predicted: Erlang A/C with the agents staffed now "
            "(ccmon_forecast_info says which); observed: the last 30 minutes.",
        ),
        12,
        8,
    )
    lay.add(
        graph(
            "Contact slots and occupancy per queue",
            [
                target(f"{per_queue} (ccmon_agent_slots)", "slots {{channel}} {{queue}}"),
                target(f"{per_queue} (ccmon_agent_slots_busy)", "busy {{channel}} {{queue}}"),
            ],
            "short",
            description="Slots of the agents ready to serve (agents x max_concurrent) and "
            "those busy (docs/metrics.md, 'Concurrency').",
        ),
        12,
        8,
    )
    lay.add(
        graph(
            "Estimated wait of a contact arriving now",
            [target(f"{per_queue} (ccmon_estimated_wait_seconds)", "{{channel}} {{queue}}")],
            "s",
            description="sum over j = 0..k of 1 / (c / AHT + j / patience): docs/metrics.md, "
            "'Estimated wait'.",
        ),
        12,
        8,
    )

    lay.row("Alerts")
    table = table_panel(
        "Firing alerts",
        [
            target(
                'sum by (alertname, severity, channel, queue, topic) (ALERTS{alertstate="firing"})',
                instant=True,
                fmt="table",
            )
        ],
    )
    lay.add(table, 24, 8)
    return dashboard(
        "ccmon-ops",
        "ccmon operations",
        lay,
        [
            variable("instance", 'label_values(up{job="ccmon"}, instance)', "Worker"),
            variable("topic", "label_values(ccmon_events_total, topic)", "Topic"),
        ],
        links=[("Wall screen", "/d/ccmon-wall/ccmon-wall-screen")],
    )
