"""Screens for a floor, in real headless Chromium on a real worker, Kafka and Redis
(docs/wall.md, "Screens for a floor"): a rotation between a tile screen and the agent board
of one team, in French; pages that turn instead of tiles that shrink; the tone on a new
breach, switched on from the screen. The screenshots go to test-artifacts/wall/ (with
CCMON_UPDATE_SCREENSHOTS=1 also to docs/, the pictures of docs/wall.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.kafka_io import produce
from tests.support.paths import ROOT
from tests.support.topology import EVERY_CHANNEL, Topology
from tests.support.wall import (
    Events,
    assert_fits,
    chromium,
    configured_wall,
    designed_state,
    publish_readme_shot,
    screenshot,
    send,
)

TOKEN = "floor-token"
QUEUES = "defaults: {timezone: Europe/Paris}\nqueues: {sales: {}, support: {}, billing: {}}\n"
WALL = """
language: fr
agent_board: true
screens:
  plateau:
    title: Plateau ventes
    queues: [sales, support]
    channels: [call]
    columns: 2
    sound: false
  equipe-a:
    title: Équipe A
    layout: agents
    teams: [a]
  pages:
    queues: [sales, support, billing]
    columns: 2
    rows: 1
    page_seconds: 3
rotations:
  accueil: {screens: [plateau, equipe-a], seconds: 6}
teams:
  a: {name: Équipe A, agents: [SECRET-AGENT-sales-0, SECRET-AGENT-sales-1]}
  b: {name: Équipe B, agents: [SECRET-AGENT-sales-2, SECRET-AGENT-sales-3]}
agents:
  SECRET-AGENT-sales-0: Alice Martin
  SECRET-AGENT-sales-1: Bruno Petit
  SECRET-AGENT-sales-2: Chloé Roux
  SECRET-AGENT-sales-3: David Leroy
"""
NNBSP = "\u202f"  # French: a narrow no-break space before %, between thousands


def until(page: Any, condition: str, timeout_ms: float) -> None:
    page.wait_for_function(f"() => ({condition})", timeout=timeout_ms)


def screen_is(name: str) -> str:
    return f"window.ccmonWall.state && window.ccmonWall.state.screen.name === {json.dumps(name)}"


def test_a_floor_rotates_its_screens_in_french_pages_and_sounds(
    topology: Topology, unique_name: str, tmp_path: Path
) -> None:
    topics = topology.create_topics(2, EVERY_CHANNEL)
    queues = topology.queues(QUEUES)
    topology.settings["CCMON_AGENT_BOARD"] = "true"
    worker = topology.worker().start()
    wall = configured_wall(
        topology.redis,
        unique_name,
        tmp_path,
        WALL,
        queues,
        CCMON_WALL_TOKEN=TOKEN,
        CCMON_WALL_TIMEZONE="Europe/Paris",
    ).start()
    try:
        produce(topology.kafka, designed_state(topics, unique_name).records)
        with chromium(1920, 1080) as page:
            # The rotation: the tile screen, in French, its numbers formatted for France.
            page.goto(f"{wall.url}/?rotation=accueil&token={TOKEN}")
            until(
                page,
                f"{screen_is('plateau')} && document.querySelectorAll('[data-tile]').length === 2"
                ' && document.querySelector(\'[data-tile="call:support"] [data-field="sl_30m"]\')'
                ".dataset.text !== '\u2014' && !document.body.classList.contains('connecting')",
                60_000,
            )
            assert page.evaluate("() => document.documentElement.lang") == "fr"
            assert page.inner_text("#status .word") == "EN DIRECT"
            assert page.inner_text("#screen-title").startswith("Plateau ventes")
            support = '[data-tile="call:support"]'
            assert page.inner_text(f"{support} .badge .word") == "DÉPASSÉ"
            assert page.inner_text(f"{support} .sl-label .label") == "NIVEAU DE SERVICE 30 MIN"
            sl = page.get_attribute(f'{support} [data-field="sl_30m"]', "data-text")
            assert sl == f"41{NNBSP}%", repr(sl)
            target = page.inner_text(f"{support} .target")
            assert target.replace("\u00a0", " ") == f"\u25ce 80{NNBSP}% < 1 min 30 s", target
            assert page.get_attribute(f"{support} .target", "title") == "objectif"
            oldest = page.get_attribute(f'{support} [data-field="oldest_waiting"]', "data-text")
            assert oldest is not None and oldest.replace("\u00a0", " ").endswith(" s")
            assert " min " in oldest.replace("\u00a0", " "), oldest
            clock = page.inner_text("#clock")
            assert len(clock) == 8 and clock[2] == clock[5] == ":", clock  # 24-hour clock
            assert_fits(page, 1080)  # French words are longer: still inside their tiles
            publish_readme_shot(screenshot(page, "wall-1080p-fr"), ROOT / "docs" / "wall-fr.png")

            # Its turn over, the agent board of team A: names from the configuration, the
            # state, reason and time in state; team B is not on this screen.
            until(page, screen_is("equipe-a"), 10_000)
            until(page, "document.querySelectorAll('#agent-rows .agent-row').length === 2", 10_000)
            rows = page.eval_on_selector_all(
                "#agent-rows .agent-row",
                "rows => rows.map(r => [...r.children].map(c => c.textContent))",
            )
            names = sorted(r[0] for r in rows)
            assert names == ["Alice Martin", "Bruno Petit"], rows
            assert {r[1] for r in rows} == {"Équipe A"}
            assert {r[2] for r in rows} == {"\u260eEN CONTACT"}, rows
            assert all(r[4].replace("\u00a0", " ").endswith(" s") for r in rows), rows
            assert all(r[5] == "sales" for r in rows), rows
            content = page.content()
            assert "SECRET-CONTACT" not in content and "contact_id" not in content
            assert "SECRET-AGENT" not in content, "shown by name, never by id when named"
            publish_readme_shot(
                screenshot(page, "wall-1080p-agents-fr"), ROOT / "docs" / "wall-agents.png"
            )
            # ... and back to the tiles, without a reload.
            page.evaluate("() => { window.__sameDocument = true; }")
            until(page, screen_is("plateau"), 10_000)
            assert page.evaluate("() => window.__sameDocument") is True

            # Three tiles on a screen of two: pages turn instead of the tiles shrinking.
            page.goto(f"{wall.url}/?screen=pages&lang=en&token={TOKEN}")
            until(page, "document.getElementById('pages').textContent.startsWith('page')", 30_000)
            first = page.eval_on_selector_all("[data-tile]", "els => els.map(e => e.dataset.tile)")
            until(page, "!document.getElementById('pages').textContent.startsWith('page 1')", 8_000)
            second = page.eval_on_selector_all("[data-tile]", "els => els.map(e => e.dataset.tile)")
            assert len(first) <= 2 + 2 and first != second, (first, second)  # 2 + the tickets
            assert page.inner_text("#status .word") == "LIVE"

            # The tone: off on this screen until the supervisor switches it on (a click also
            # lets the browser play sound); then a queue newly breached plays it, once.
            page.goto(f"{wall.url}/?screen=plateau&lang=en&token={TOKEN}")
            until(page, "document.querySelectorAll('[data-tile]').length === 2", 30_000)
            assert page.get_attribute("#sound", "aria-pressed") == "false"
            page.click("#sound")
            assert page.get_attribute("#sound", "aria-pressed") == "true"
            assert page.get_attribute("#sound", "title") == "SOUND ON"
            until(page, "window.ccmonWall.state.tiles.some(t => t.id === 'call:sales')", 5_000)
            sales_state = page.evaluate(
                "() => window.ccmonWall.state.tiles.find(t => t.id === 'call:sales').state"
            )
            assert sales_state != "alarm"
            more = Events(topics, f"{unique_name}-breach")
            for _ in range(12):  # 13 waiting of a limit of 10: breached
                more.waiting("call", "sales", since=1)
            send(topology.kafka, more.records)
            until(page, "window.ccmonWall.beeps >= 1", 30_000)
            assert page.evaluate("() => window.ccmonWall.beeps") == 1
            audio = page.evaluate("() => window.ccmonWall.audio")
            print(f"headless Chromium's audio context: {audio}")
    finally:
        wall.stop()
        worker.stop()
