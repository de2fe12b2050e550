"""The ccmon rules, written once; `python -m alerts.build` fills in alerts/config.yaml and writes
alerts/ccmon.rules.yml. The conventions (one value per queue, targets as metrics, counters
summed per queue) are in the docstring of alerts/build.py and docs/alerting.md."""

from __future__ import annotations

from typing import Any

from alerts.rulekit import (
    BY,
    BY_PROFILE,
    ON,
    OWN_PROFILE,
    QUEUE,
    alert,
    expr,
    own_profile,
    q,
    runbook,
    seconds,
    sum_increase,
    target_query,
)

VALUE_DURATION = "{{ $value | humanizeDuration }}"


# ---------------------------------------------------------------- recording rules
def slo_windows(config: dict[str, Any]) -> list[str]:
    windows = {w for tier in config["slo"]["tiers"] for w in (tier["long"], tier["short"])}
    return sorted(windows, key=seconds)


def windowed(metric: str, window: str) -> str:
    return q(f'{metric}{{window="{window}"}}')


def window_ratio(numerator: str, denominator: str, on: str = ON) -> str:
    """An event-time ratio from the windowed counts (series budget: the worker exports the
    counts, not the ratios); no series where the denominator is empty."""
    return f"{numerator}\n/ {on}\n({denominator} > 0)"


def service_level_rules(window: str, suffix: str) -> list[dict[str, Any]]:
    """Every exported profile's service level over ``window``, and the queue's own (the one
    its target, its alerts and the wall speak of)."""

    def by_profile(metric: str) -> str:
        return f'max {BY_PROFILE} ({metric}{{window="{window}"}})'

    every = f"ccmon:service_level_by_profile:ratio{suffix}"
    return [
        {
            "record": every,
            "expr": window_ratio(
                by_profile("ccmon_window_service_level_good"),
                by_profile("ccmon_window_service_level_eligible"),
                "on (channel, queue, profile)",
            ),
        },
        {"record": f"ccmon:service_level:ratio{suffix}", "expr": own_profile(every)},
    ]


def own_counter(metric: str, window: str) -> str:
    """The increase of a per-profile counter in the queue's own profile, by queue."""
    return f"max {BY} {own_profile(sum_increase(metric, window, BY_PROFILE))}"


def recording_rules(config: dict[str, Any]) -> list[dict[str, Any]]:
    window = config["queues"]["window"]
    offered = windowed("ccmon_window_contacts_offered", window)
    blocked = windowed("ccmon_window_contacts_blocked", window)
    rules: list[dict[str, Any]] = [
        {
            # A queue's own profile, named by ccmon_queue_info: the service-level rules
            # below keep only its series.
            "record": OWN_PROFILE,
            "expr": f"max {BY_PROFILE} (ccmon_queue_info)",
        },
        *service_level_rules(window, window),
        {
            "record": f"ccmon:abandon:ratio{window}",
            "expr": window_ratio(windowed("ccmon_window_contacts_abandoned", window), offered),
        },
        {
            "record": f"ccmon:blocking:ratio{window}",
            "expr": window_ratio(blocked, f"({offered} + {ON} {blocked})"),
        },
        *service_level_rules("today", "_today"),
        {
            # Scrape-time (the histogram's increase), not event time: a wall-screen figure;
            # CCMON_EXPORT_DETAIL exports the event-time sums for those who need them.
            "record": f"ccmon:answer_wait:mean{window}",
            "expr": (
                f"{sum_increase('ccmon_contact_wait_seconds_sum', window)}\n/ {ON}\n"
                f"({sum_increase('ccmon_contact_wait_seconds_count', window)} > 0)"
            ),
        },
        {
            "record": "ccmon:sl_error_budget:ratio",
            "expr": f"1 - {q('ccmon_service_level_target_ratio')}",
        },
    ]
    for w in slo_windows(config):
        # Good and eligible in the queue's own profile: the burn rate of the right SLO. One
        # series per queue: the budget and the volume guard have no profile.
        good = own_counter("ccmon_service_level_good_total", w)
        eligible = f"ccmon:sl_eligible:increase{w}"
        rules.append(
            {"record": eligible, "expr": own_counter("ccmon_service_level_eligible_total", w)}
        )
        rules.append(
            {
                "record": f"ccmon:sl_error:ratio_rate{w}",
                # Without any answer within T yet the good counter may not exist: then every
                # eligible contact missed.
                "expr": (
                    f"clamp(\n  1 - {good}\n    / {ON} {eligible},\n  0, 1\n)\n"
                    f"or ({eligible} > 0) * 0 + 1"
                ),
            }
        )
    bw = config["queues"]["blocking_window"]
    offered = sum_increase("ccmon_contacts_offered_total", bw)
    blocked = sum_increase("ccmon_contacts_blocked_total", bw)
    unplanned = sum_increase('ccmon_contacts_blocked_total{reason!="closed"}', bw)
    rules += [
        {
            "record": f"ccmon:contacts_arrived:increase{bw}",
            "expr": expr(f"({offered}\n + {blocked})\nor {blocked}"),
        },
        {
            "record": f"ccmon:blocking_unplanned:ratio_rate{bw}",
            "expr": f"{unplanned}\n/ {ON} ccmon:contacts_arrived:increase{bw}",
        },
    ]
    return rules


# ---------------------------------------------------------------- alerts
def slo_alerts(config: dict[str, Any]) -> list[dict[str, Any]]:
    rules = []
    min_volume = q("ccmon_service_level_min_volume")
    per = config["queues"]["window"]
    for tier in config["slo"]["tiers"]:
        long, short, factor = tier["long"], tier["short"], tier["factor"]
        # min_volume is the queue's minimum per `per` (30m, the window the SL alert guards):
        # the long window must show the same density, e.g. 2 x min_volume over 1h.
        scale = seconds(long) / seconds(per)
        volume = f"({scale:g} * {min_volume})" if scale != 1 else min_volume
        burn = "ccmon:sl_error:ratio_rate{w} / " + ON + " ccmon:sl_error_budget:ratio > {f}"
        query = f"""
            (
              {burn.format(w=long, f=factor)}
              and {ON}
              {burn.format(w=short, f=factor)}
            )
            and {ON}
            (ccmon:sl_eligible:increase{long} >= {ON} {volume})
            """
        rules.append(
            alert(
                config,
                "CcmonServiceLevelBudgetBurn",
                query,
                tier["severity"],
                f"{QUEUE} is burning its service-level error budget (> {factor}x)",
                f"Over the last {long} (and still over the last {short}) {QUEUE} burned its "
                "service-level error budget {{ $value | humanize }}x faster than the day "
                f"allows (threshold {factor}x): "
                '{{ with printf "ccmon:sl_error:ratio_rate' + long + '{channel=%q,queue=%q}" '
                "$labels.channel $labels.queue | query }}{{ . | first | value | "
                "humanizePercentage }}{{ end }} of the contacts its service level counts "
                "missed the answer threshold, against a budget of "
                '{{ with printf "ccmon:sl_error_budget:ratio{channel=%q,queue=%q}" '
                "$labels.channel $labels.queue | query }}{{ . | first | value | "
                "humanizePercentage }}{{ end }}.",
                for_=tier["for"],
                labels={"long": long, "short": short},
            )
        )
    return rules


def above_limit(value: str, limit: str, guard: str) -> str:
    """``value`` above the queue's ``limit`` series, only where ``guard`` holds (enough
    volume, someone waiting): the shape of the queue alerts on a configured limit."""
    return f"(\n  {value}\n  > {ON} {q(limit)}\n)\nand {ON}\n{guard}"


def queue_alerts(config: dict[str, Any]) -> list[dict[str, Any]]:
    w = config["queues"]["window"]
    bw = config["queues"]["blocking_window"]
    min_volume = q("ccmon_service_level_min_volume")
    offered = q(f'ccmon_window_contacts_offered{{window="{w}"}}')
    offered_guard = f"({offered} >= {ON} {min_volume})"
    sl_target = target_query("ccmon_service_level_target_ratio", "humanizePercentage")
    predicted = target_query("ccmon_service_level_predicted_ratio", "humanizePercentage")
    threshold = target_query("ccmon_service_level_threshold_seconds", "humanizeDuration")
    return [
        alert(
            config,
            "CcmonServiceLevelBelowTarget",
            f"""
            (
              ccmon:service_level:ratio{w}
              < {ON} group_left {q("ccmon_service_level_target_ratio")}
            )
            and {ON}
            {offered_guard}
            """,
            "ticket",
            f"Service level below target on {QUEUE}",
            f"Over the last {w} the service level of {QUEUE} was "
            "{{ $value | humanizePercentage }} (profile {{ $labels.profile }}), "
            f"below its target of {sl_target}.",
        ),
        alert(
            config,
            "CcmonOldestWaitingAboveThreshold",
            above_limit(
                f"time() - {q('ccmon_oldest_waiting_since_timestamp_seconds > 0', 'min')}",
                "ccmon_service_level_threshold_seconds",
                f"({q('ccmon_contacts_waiting')} > 0)",
            ),
            "ticket",
            f"Contacts waiting longer than the answer threshold on {QUEUE}",
            f"The oldest contact waiting in {QUEUE} has waited {VALUE_DURATION}, "
            f"longer than the service-level threshold of {threshold}: "
            "every contact still waiting now will miss it.",
        ),
        alert(
            config,
            "CcmonContactsWaitingAboveLimit",
            f"""
            {q("ccmon_contacts_waiting")}
            > {ON} {q("ccmon_contacts_waiting_limit")}
            """,
            "page",
            f"Too many contacts waiting on {QUEUE}",
            f"{{{{ $value }}}} contacts are waiting in {QUEUE}, above the queue's limit of "
            f"{target_query('ccmon_contacts_waiting_limit', 'humanize')}.",
        ),
        alert(
            config,
            "CcmonBlockingRatioHigh",
            above_limit(
                f"ccmon:blocking_unplanned:ratio_rate{bw}",
                "ccmon_blocking_ratio_limit",
                f"(ccmon:contacts_arrived:increase{bw} >= {ON} {min_volume})",
            ),
            "page",
            f"Contacts blocked before reaching {QUEUE}",
            f"Over the last {bw} {{{{ $value | humanizePercentage }}}} of the contacts arriving "
            f"for {QUEUE} were blocked (trunks busy, queue full, no agents, network failure; "
            "'closed' excluded), above the queue's limit of "
            f"{target_query('ccmon_blocking_ratio_limit', 'humanizePercentage')}.",
        ),
        alert(
            config,
            "CcmonAbandonRatioHigh",
            above_limit(f"ccmon:abandon:ratio{w}", "ccmon_abandon_ratio_limit", offered_guard),
            "ticket",
            f"Customers abandoning on {QUEUE}",
            f"Over the last {w} {{{{ $value | humanizePercentage }}}} of the contacts offered "
            f"to {QUEUE} abandoned while waiting, above the queue's limit of "
            f"{target_query('ccmon_abandon_ratio_limit', 'humanizePercentage')}.",
        ),
        alert(
            config,
            "CcmonUnderstaffed",
            f"""
            ({q("ccmon_agents_shortfall")} > 0)
            and {ON}
            {offered_guard}
            """,
            "ticket",
            f"Fewer agents staffed than {QUEUE} needs for its target",
            f"{QUEUE} needs {{{{ $value }}}} more agent(s) to meet its service-level target "
            "at the traffic of the last "
            f"{w}: "
            f"{target_query('ccmon_agents_required', 'humanize')} required, "
            f"{target_query('ccmon_agents_logged_in', 'humanize')} staffed; predicted "
            f"service level {predicted} "
            f"against a target of {sl_target} (Erlang C/A forecast: a leading indicator, "
            "the observed service level has not necessarily broken yet).",
        ),
    ]


def ticket_alerts(config: dict[str, Any]) -> list[dict[str, Any]]:
    t = config["tickets"]
    trend, share, fw = (
        t["backlog_trend_window"],
        t["first_response_share"],
        t["first_response_window"],
    )
    buckets = (
        f"sum by (channel, queue, le) (rate(ccmon_ticket_first_response_seconds_bucket[{fw}]))"
    )
    return [
        alert(
            config,
            "CcmonTicketBacklogGrowing",
            f"""
            ({q(f"deriv(ccmon_tickets_open[{trend}])")} * 3600 > 0)
            and {ON}
            ({q("ccmon_tickets_open")} > 0)
            """,
            "ticket",
            f"Ticket backlog keeps growing on {QUEUE}",
            f"The open-ticket backlog of {QUEUE} has been growing for "
            f"{config['for']['CcmonTicketBacklogGrowing']}, now by {{{{ $value | humanize }}}} "
            "tickets per hour; "
            '{{ with printf "max(ccmon_tickets_open{channel=%q,queue=%q})" $labels.channel '
            "$labels.queue | query }}{{ . | first | value | humanize }}{{ end }} tickets are open.",
        ),
        alert(
            config,
            "CcmonTicketsOverdue",
            f"{q('ccmon_tickets_overdue')} > 0",
            "ticket",
            f"Overdue tickets on {QUEUE}",
            f"{{{{ $value }}}} open tickets of {QUEUE} are past their target.",
        ),
        alert(
            config,
            "CcmonTicketFirstResponseTargetMissed",
            f"""
            (
              histogram_quantile({share}, {buckets})
              > {ON} {q("ccmon_ticket_first_response_target_seconds")}
            )
            and {ON}
            (
              {sum_increase("ccmon_ticket_first_response_seconds_count", fw)}
              >= {ON} {q("ccmon_service_level_min_volume")}
            )
            """,
            "ticket",
            f"Ticket first replies too slow on {QUEUE}",
            f"Fewer than {share * 100:g} % of the first replies of {QUEUE} over the last {fw} came "
            "within the target of "
            f"{target_query('ccmon_ticket_first_response_target_seconds', 'humanizeDuration')}: "
            f"the {share * 100:g}th percentile first-response time is {VALUE_DURATION}.",
        ),
    ]


def pipeline_alerts(config: dict[str, Any]) -> list[dict[str, Any]]:
    p = config["pipeline"]
    job = config["job"]
    rules = []
    for topic, settings in p["topics"].items():
        limit = seconds(settings["silent_after"])
        last_event = f'ccmon_last_event_timestamp_seconds{{topic="{topic}"}}'
        rules.append(
            alert(
                config,
                "CcmonEventSourceSilent",
                f"time() - max by (topic) ({last_event}) > {limit}",
                "page",
                "No events from {{ $labels.topic }}",
                "ccmon has received nothing from {{ $labels.topic }} for "
                "{{ $value | humanizeDuration }} (limit "
                f"{settings['silent_after']}): the source system or its connector is down, "
                "and every number and alert of that channel is frozen.",
                labels={"topic": topic},
            )
        )
    for topic in p["topics"]:
        rules.append(
            alert(
                config,
                "CcmonEventSourceAbsent",
                f"""
                absent(ccmon_last_event_timestamp_seconds{{topic="{topic}"}})
                and on () (count(up{{job="{job}"}} == 1) > 0)
                """,
                "page",
                "No event ever received from {{ $labels.topic }}",
                "ccmon workers are up but none has received any event from "
                "{{ $labels.topic }}: the source is not connected, or the topic name is wrong.",
                labels={"topic": topic},
            )
        )
    window = p["rejected_window"]
    rejected = f"sum by (topic) (rate(ccmon_events_rejected_total[{window}]))"
    accepted = f"sum by (topic) (rate(ccmon_events_total[{window}]))"
    rejected_count = f"sum by (topic) (increase(ccmon_events_rejected_total[{window}]))"
    lag_limit = p["consumer_lag_limit"]
    targets = f'count(up{{job=\\"{job}\\"}})'
    known_targets = f'{{{{ with query "{targets}" }}}}{{{{ . | first | value }}}}'
    rules += [
        alert(
            config,
            "CcmonConsumerLagHigh",
            f"sum by (topic) (max by (topic, partition) (ccmon_consumer_lag)) > {lag_limit}",
            "ticket",
            "ccmon is falling behind on {{ $labels.topic }}",
            "The ccmon consumers are {{ $value | humanize }} messages behind on "
            f"{{{{ $labels.topic }}}} (limit {p['consumer_lag_limit']}): wall screens and alerts "
            "show the past.",
        ),
        alert(
            config,
            "CcmonRedisUnreachable",
            f'ccmon_redis_up{{job="{job}"}} == 0',
            "page",
            "ccmon worker {{ $labels.instance }} cannot reach Redis",
            "The ccmon worker {{ $labels.instance }} has not reached Redis for "
            f"{config['for']['CcmonRedisUnreachable']}: it counts nothing (never without "
            "the duplicate guard), its events wait in Kafka and its queues' numbers on "
            "the wall screens and in every alert are frozen. Counting resumes by itself "
            "when Redis is back.",
        ),
        alert(
            config,
            "CcmonKafkaUnreachable",
            f'ccmon_kafka_up{{job="{job}"}} == 0',
            "page",
            "ccmon worker {{ $labels.instance }} cannot reach Kafka",
            "The ccmon worker {{ $labels.instance }} has not got any answer from the Kafka "
            f"cluster for {config['for']['CcmonKafkaUnreachable']}: no event reaches it, "
            "and the wall screens show the numbers from before the outage. It reconnects "
            "by itself when the brokers are back.",
        ),
        alert(
            config,
            "CcmonCountsIncomplete",
            f'ccmon_state_unrecoverable_records{{job="{job}"}} > 0',
            "ticket",
            "ccmon counts lack {{ $value | humanize }} records for good",
            "Redis lost the counts of {{ $value | humanize }} records of the partitions "
            "owned by {{ $labels.instance }}, and the repartition topic no longer held them "
            "to count them again: those queues' counters, windows and day totals lack them. "
            "/healthz of that worker names the partitions.",
        ),
        alert(
            config,
            "CcmonWorkerDown",
            f'up{{job="{job}"}} == 0',
            "ticket",
            "ccmon worker {{ $labels.instance }} is down",
            "Prometheus cannot scrape the ccmon worker {{ $labels.instance }}; its partitions "
            "should move to the other workers.",
        ),
        alert(
            config,
            "CcmonNoWorkerUp",
            f'absent(up{{job="{job}"}} == 1)',
            "page",
            "No ccmon worker is up",
            f"None of the {known_targets}"
            f"{{{{ else }}}}0{{{{ end }}}} known targets of job {job} is up: nothing is counted, "
            "wall screens are stale and every contact-centre alert is blind.",
        ),
        alert(
            config,
            "CcmonEventsRejectedSpike",
            f"""
            (
              {rejected}
              / (({accepted} + {rejected}) or {rejected})
              > {p["rejected_ratio_limit"]}
            )
            and
            ({rejected_count} >= {p["rejected_min_events"]})
            """,
            "ticket",
            "Events rejected on {{ $labels.topic }}",
            f"Over the last {window} {{{{ $value | humanizePercentage }}}} of the events read from "
            "{{ $labels.topic }} were rejected (limit "
            f"{p['rejected_ratio_limit'] * 100:g} %) and sent to the dead-letter topic: a "
            "producer changed its format or is sending garbage.",
        ),
    ]
    return rules


def watchdog(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert": "Watchdog",
        "expr": "vector(1)",
        # severity none: no severity route or inhibition may ever catch the dead man's switch.
        "labels": {"severity": "none"},
        "annotations": {
            "summary": "The alerting pipeline is alive",
            "description": "Always firing. If the dead man's switch stops receiving it, "
            "Prometheus, its rules or Alertmanager are broken.",
            "runbook_url": runbook(config, "Watchdog"),
        },
    }
