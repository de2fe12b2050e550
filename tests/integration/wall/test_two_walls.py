"""The two walls agree: one state of a contact centre, counted by a real worker, shown by
the ccmon wall (from the Redis read model) and by Grafana's wall dashboard (evaluated from
its committed JSON against a real Prometheus that scrapes the worker with the committed
recording rules: support.grafana). Every tile is breached, at risk or neither on both, and
so is every number both show, by each queue's own threshold model (docs/wall.md, "States").

The queues have margins and limits of their own, so that a wall still reading a fixed
80/70 % or a built-in margin would disagree.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from alerts.dashboards import iter_panels
from ccmon.agents.devkit.wallproc import WallProcess
from ccmon.agents.wall.tiles import CONTACT_PRIORITY, SEVERITY, TICKET_PRIORITY
from tests.support.clock import queues_at
from tests.support.grafana import instant, panel_values
from tests.support.kafka_io import create_topics, produce
from tests.support.paths import ROOT
from tests.support.prometheus import prometheus_config
from tests.support.services import KafkaServer, PrometheusServer, RedisServer
from tests.support.wall import Events
from tests.support.worker import Worker

WALL = ROOT / "deploy" / "grafana" / "dashboards" / "ccmon-wall.json"
RULES = ROOT / "alerts" / "ccmon.rules.yml"
QUEUES = """
queues:
  sales:
    service_level: {threshold_seconds: 60, target_ratio: 0.80}
  billing:
    service_level: {threshold_seconds: 120, target_ratio: 0.90}
    alerts: {waiting_contacts: 6}
    at_risk: {service_level_margin: 0.08, waiting_margin: 3, oldest_waiting_margin_seconds: 10}
  support:
    service_level: {threshold_seconds: 60, target_ratio: 0.80}
    alerts: {abandon_ratio: 0.05}
    tickets: {backlog_limit: 20}
    at_risk: {backlog_margin: 5}
"""
# Grafana's panel -> the ccmon wall's number, per kind of tile.
CONTACT_PANELS = {
    "Service level 30 min": "sl_30m",
    "Service level today": "sl_today",
    "Waiting": "waiting",
    "Oldest waiting": "oldest_waiting",
    "Abandoned 30 min": "abandon_30m",
    "Blocked 30 min": "blocking_30m",
}
TICKET_PANELS = {"Backlog": "backlog", "Overdue": "overdue", "Oldest open": "oldest_open"}


def judged(state: str) -> str:
    """What both walls must agree on: breached, at risk, or neither (Grafana draws "nobody
    waiting" as a green 0 where ccmon draws a grey dash; both mean nothing is wrong)."""
    return state if state in ("alarm", "warn") else "fine"


def contact_centre(topics: dict[str, str], tag: str) -> Events:
    ev = Events(topics, tag)
    for i in range(20):  # call/sales: every answer in time, nobody waiting: OK
        ev.answered("call", "sales", wait=5, ago=60 + 30 * i)
    for i in range(19):  # call/billing: 95 % against 90 % + 8 points, 4 of 6 waiting: at risk
        ev.answered("call", "billing", wait=20, ago=60 + 30 * i)
    ev.answered("call", "billing", wait=200, ago=400)
    for _ in range(4):
        ev.waiting("call", "billing", since=1)
    for i in range(10):  # call/support: 50 %, 3 abandons of 23 (limit 5 %), 200 s wait
        ev.answered("call", "support", wait=10, ago=100 + 30 * i)
        ev.answered("call", "support", wait=90, ago=120 + 30 * i)
    for i in range(3):
        ev.abandoned("call", "support", wait=40, ago=150 + 60 * i)
    for since in (200, 30):
        ev.waiting("call", "support", since=since)
    for i in range(10):  # chat/support: fine
        ev.answered("chat", "support", wait=8, ago=90 + 40 * i)
    for i in range(17):  # tickets/support: 17 open of a limit of 20, margin 5: at risk
        ev.ticket("support", age=3600 + 60 * i)
    for i in range(3):  # tickets/billing: no limit, young
        ev.ticket("billing", age=1800 + 60 * i)
    return ev


def produced(events: Events, topics: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Per tile id, the contacts offered (calls, chats) and the tickets opened."""
    channel_of = {topic: channel for channel, topic in topics.items()}
    offered: dict[str, int] = {}
    opened: dict[str, int] = {}
    for topic, _, value in events.records:
        event = json.loads(value)
        tile = f"{channel_of[topic]}:{event['queue']}"
        if event["type"] == "offered":
            offered[tile] = offered.get(tile, 0) + 1
        elif event["type"] == "created":
            opened[tile] = opened.get(tile, 0) + 1
    return offered, opened


def wall_counts(tiles: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    def value(tile: dict[str, Any], metric: str) -> int:
        return int(tile.get("metrics", {}).get(metric, {}).get("value") or 0)

    contacts = {i: value(t, "offered_today") for i, t in tiles.items() if t["kind"] != "ticket"}
    tickets = {i: value(t, "backlog") for i, t in tiles.items() if t["kind"] == "ticket"}
    return contacts, tickets


def rules_saw_it(prometheus: str, counts: tuple[dict[str, int], dict[str, int]]) -> bool:
    """Prometheus's last scrape counts every contact offered and ticket opened, and the
    recording rules were evaluated after that scrape had ended (its start plus its duration)."""
    scraped = (
        {
            f"{labels['channel']}:{labels['queue']}": int(v)
            for labels, v in instant(prometheus, "ccmon_contacts_offered_total > 0")
        },
        {
            f"ticket:{labels['queue']}": int(v)
            for labels, v in instant(prometheus, "ccmon_tickets_open > 0")
        },
    )
    ended = instant(prometheus, 'timestamp(up{job="ccmon"}) + scrape_duration_seconds')
    evaluated = instant(prometheus, 'timestamp(ccmon:abandon:ratio30m{queue="support"})')
    return scraped == counts and bool(ended and evaluated) and evaluated[0][1] > ended[0][1]


def wall_state(wall: WallProcess) -> dict[str, Any]:
    with urlopen(f"{wall.url}/api/state", timeout=5) as r:
        return dict(json.loads(r.read()))


def grafana_states(prometheus: str, queue: str) -> dict[str, dict[str, str]]:
    """Per tile id (``channel:queue``), the state of each of Grafana's numbers for it."""
    out: dict[str, dict[str, str]] = {}
    for panel in iter_panels(WALL):
        title = panel.get("title", "")
        if panel.get("type") != "stat" or title not in CONTACT_PANELS | TICKET_PANELS:
            continue
        values = panel_values(prometheus, panel, {"queue": queue})
        for name, shown in values.items():
            tile = f"{name}:{queue}" if title in CONTACT_PANELS else f"ticket:{name}"
            if title in TICKET_PANELS and name != queue:
                continue
            metric = (CONTACT_PANELS | TICKET_PANELS)[title]
            out.setdefault(tile, {})[metric] = shown.state
    return out


def tile_state(states: dict[str, str], kind: str) -> str:
    priority = TICKET_PRIORITY if kind == "ticket" else CONTACT_PRIORITY
    return max((states.get(m, "none") for m in priority), key=SEVERITY.__getitem__)


def test_both_walls_give_every_tile_the_same_state(
    kafka: KafkaServer,
    redis_server: RedisServer,
    prometheus_factory: Any,
    unique_name: str,
    tmp_path: Path,
) -> None:
    topics = {c: f"{unique_name}.{c}s" for c in ("call", "chat", "ticket")}
    create_topics(kafka.bootstrap, topics.values(), partitions=2)
    # A zone not UTC, where it is afternoon: "today" holds every event at any hour CI runs.
    (tmp_path / "queues.yaml").write_text(queues_at() + QUEUES)
    env = {
        "CCMON_QUEUE_CONFIG": str(tmp_path / "queues.yaml"),
        "CCMON_TOPIC_CALLS": topics["call"],
        "CCMON_TOPIC_CHATS": topics["chat"],
        "CCMON_TOPIC_TICKETS": topics["ticket"],
        "CCMON_TOPIC_DEAD_LETTER": f"{unique_name}.dlq",
    }
    worker = Worker(kafka.bootstrap, redis_server.url, tmp_path, unique_name, env=env).start()
    wall = WallProcess(redis_server.url, unique_name, tmp_path).start()
    try:
        prometheus: PrometheusServer = prometheus_factory(
            prometheus_config(tmp_path, [worker.url[7:]], RULES, interval="1s")
        )
        events = contact_centre(topics, unique_name)
        produce(kafka.bootstrap, events.records)
        counts = produced(events, topics)
        # Both walls have the whole state: the wall's tiles count every event produced, and
        # so does a scrape of Prometheus, after whose end the recording rules (one group)
        # were evaluated. Observed, not waited for: a fixed pause would hide a slow step.
        deadline = time.monotonic() + 90
        while True:
            tiles = {t["id"]: t for t in wall_state(wall)["tiles"]}
            if wall_counts(tiles) == counts and rules_saw_it(prometheus.url, counts):
                break
            assert time.monotonic() < deadline, (wall_counts(tiles), counts)
            time.sleep(0.5)
        grafana: dict[str, dict[str, str]] = {}
        for queue in ("sales", "billing", "support"):
            grafana |= {
                tile: grafana.get(tile, {}) | states
                for tile, states in grafana_states(prometheus.url, queue).items()
            }
        tiles = {t["id"]: t for t in wall_state(wall)["tiles"]}
    finally:
        wall.stop()
        worker.stop()

    seen = {}
    for tile_id, tile in sorted(tiles.items()):
        theirs = grafana[tile_id]
        ours = {m: tile["metrics"][m]["state"] for m in theirs}
        assert {m: judged(s) for m, s in ours.items()} == {
            m: judged(s) for m, s in theirs.items()
        }, tile_id
        assert judged(tile["state"]) == judged(tile_state(theirs, tile["kind"])), tile_id
        seen[tile_id] = tile["state"]
    assert seen == {
        "call:billing": "warn",
        "call:sales": "ok",
        "call:support": "alarm",
        "chat:support": "ok",
        "ticket:billing": "ok",
        "ticket:support": "warn",
    }
