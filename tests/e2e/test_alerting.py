"""End to end, on real binaries: events on Kafka -> ccmon worker -> Prometheus (the committed
rules, `for:` shortened) -> Alertmanager (the committed routing) -> webhooks; and every
Grafana panel query against that Prometheus.

Scenario "staffing collapse on sales" (docs/alerting.md, "End-to-end test"):
1. warm-up: both queues healthy, a few tickets and chats, one reject, one duplicate;
2. collapse: most sales calls wait far beyond the 20 s threshold or abandon, six contacts
   are left waiting for minutes; care stays healthy. The page reaches /page for sales,
   the sales tickets are inhibited by it, nothing at all happens for care, the Watchdog
   reaches /watchdog;
3. recovery: many quick answers (SL, abandon and burn-rate alerts resolve), then half the
   waiting contacts are answered (the waiting-limit page resolves, which un-mutes the
   still-true oldest-waiting ticket: it reaches /ticket), then the rest (it resolves);
   /page and /ticket receive `status: resolved`;
4. every panel query of ccmon-wall and ccmon-ops returns data.
Both queues are staffed generously all along (agent events): the collapse is a sudden long
wait, not a staffing shortfall, so CcmonUnderstaffed stays quiet here
(test_understaffed.py drives it).

Every binary is a hard requirement: the fixtures fail the test (never skip) without them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from alerts.build import load_config, render
from tests.support.alerting import (
    ALERTMANAGER_CONFIG,
    ALERTMANAGER_GROUP_INTERVAL,
    FAST_ALERTS,
    FAST_FOR,
    FAST_GROUPS,
    RULES,
    WEBHOOK_PLACEHOLDER,
    WebhookSink,
    alertmanager_copy,
    fast_config,
    for_durations,
    rule_differences,
    write_fast_rules,
)
from tests.support.alerting_scenario import (
    QUEUES_YAML,
    TICKET_GROUP_WAIT,
    Scenario,
    play,
    start_worker,
)
from tests.support.kafka_io import create_topics
from tests.support.services import KafkaServer, PrometheusServer, Services
from tests.support.topology import EVERY_CHANNEL, Topology
from tests.support.worker import Worker

pytestmark = pytest.mark.e2e


def test_rules_variant_changes_only_for() -> None:
    committed = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert RULES.read_text(encoding="utf-8") == render(load_config()), (
        "alerts/ccmon.rules.yml is stale: run `python -m alerts.build`"
    )
    variant = yaml.safe_load(render(fast_config()))
    assert rule_differences(committed, variant) == []
    changed = {
        (group, name)
        for (group, name, before), (_, _, after) in zip(
            for_durations(committed), for_durations(variant), strict=True
        )
        if before != after
    }
    assert changed, "the variant must shorten something"
    for group, name in changed:
        assert group in FAST_GROUPS, (group, name)
    assert {name for _, name in changed} == {*FAST_ALERTS, "CcmonServiceLevelBudgetBurn"}
    assert all(after == FAST_FOR for (g, _, after) in for_durations(variant) if g in FAST_GROUPS)


def test_staffing_collapse_pages_recovers_and_every_panel_has_data(
    topology: Topology,
    kafka: KafkaServer,
    services: Services,
    unique_name: str,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    config = load_config()

    # --- a worker of its own: topics, Redis prefix (= app id), queue config
    topics = topology.create_topics(2, EVERY_CHANNEL)
    create_topics(kafka.bootstrap, [topology.dead_letter], partitions=1)
    topology.settings = {"CCMON_CLOCK": "wall", "CCMON_TICK_INTERVAL_SECONDS": "1"}
    topology.queues(QUEUES_YAML)

    def make_worker(name: str) -> Worker:
        return topology.worker(name, tmp_path / "worker")

    workers: list[Worker] = []

    with WebhookSink().running() as sink:
        # --- Alertmanager: the committed routing, receivers on the sink
        am_text, am_original = alertmanager_copy(sink.base_url)
        for receiver in am_original["receivers"]:
            for hook in receiver["webhook_configs"]:
                assert hook["url"].startswith(WEBHOOK_PLACEHOLDER), hook
                if receiver["name"] in ("pager", "ticket"):
                    assert hook["send_resolved"] is True, receiver  # the recovery needs it
        ticket_route = next(r for r in am_original["route"]["routes"] if r["receiver"] == "ticket")
        assert ticket_route.get("group_wait", am_original["route"]["group_wait"]) == (
            TICKET_GROUP_WAIT
        )
        am_copy = yaml.safe_load(am_text)
        assert am_copy["route"]["group_interval"] == ALERTMANAGER_GROUP_INTERVAL
        am_copy["route"]["group_interval"] = am_original["route"]["group_interval"]
        assert am_copy == yaml.safe_load(
            ALERTMANAGER_CONFIG.read_text(encoding="utf-8").replace(
                WEBHOOK_PLACEHOLDER, sink.base_url
            )
        ), "the copy may change only the receivers' base URL and the root group_interval"
        am_path = tmp_path / "alertmanager.yml"
        am_path.write_text(am_text, encoding="utf-8")
        alertmanager = topology.alertmanager(am_path)

        prometheus: PrometheusServer | None = None
        try:
            worker = start_worker(make_worker, workers)
            rules = write_fast_rules(tmp_path / "rules")
            committed = yaml.safe_load(RULES.read_text(encoding="utf-8"))
            loaded = yaml.safe_load(rules.read_text(encoding="utf-8"))
            assert rule_differences(committed, loaded) == [], "only `for:` may differ"
            prometheus = topology.prometheus(rules, job=config["job"], alertmanager=alertmanager)
            run = Scenario(worker, prometheus, alertmanager, sink)
            run.wait(
                "Prometheus loaded every rule of the variant",
                lambda: (
                    sum(len(g["rules"]) for g in run.prometheus.rule_groups())
                    == sum(len(g["rules"]) for g in loaded["groups"])
                ),
                timeout=30,
            )
            play(run, kafka, topics, unique_name)
        finally:
            for w in workers:
                w.stop()
            if prometheus is not None:
                services.stop(prometheus)
            services.stop(alertmanager)
    print(f"end-to-end scenario took {time.monotonic() - started:.0f}s")
