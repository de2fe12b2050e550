"""The wall page in real headless Chromium at 1920x1080, on a real worker, Kafka, Redis and
Alertmanager: a tile follows the worker within 2 s of its counting, the page greys out
within 5 s of the worker stopping, and comes back without a reload when a worker returns;
likewise when the wall server itself stops and comes back.

Screenshots are written to test-artifacts/wall/ (CCMON_TEST_ARTIFACTS); with
CCMON_UPDATE_SCREENSHOTS=1 the live one also becomes docs/wall.png, the README's picture.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ccmon.agents.devkit.wallproc import WallProcess
from tests.support.expect import sample
from tests.support.kafka_io import produce
from tests.support.services import AlertmanagerServer
from tests.support.topology import EVERY_CHANNEL, Topology
from tests.support.wall import (
    Events,
    assert_fits,
    chromium,
    designed_state,
    designed_worker_and_wall,
    publish_readme_shot,
    screenshot,
    secrets_in,
    send,
)
from tests.support.worker import Worker

ALERTMANAGER_YML = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"
COUNTED_TO_SHOWN_SECONDS = 2.0
STOPPED_TO_DELAYED_SECONDS = 5.0


def until(page: Any, condition: str, timeout_ms: float) -> None:
    """Wait for a JS condition; passed as a function, which the page's CSP (no eval) allows."""
    page.wait_for_function(f"() => ({condition})", timeout=timeout_ms)


def field(tile: str, name: str) -> str:
    return f'document.querySelector(\'[data-tile="{tile}"] [data-field="{name}"]\')'


def shows(tile: str, name: str, text: str) -> str:
    """A JS predicate: the field's own text (without its state icon) is ``text``."""
    return f"(() => {{ const el = {field(tile, name)}; return !!el && el.firstChild && el.firstChild.textContent === {json.dumps(text)}; }})()"  # noqa: E501


LIVE = "!document.body.classList.contains('delayed') && !document.body.classList.contains('connecting')"  # noqa: E501
DELAYED = (
    "document.body.classList.contains('delayed') && "
    r"/^data delayed since \d\d:\d\d:\d\d$/"
    ".test(document.getElementById('delayed-text').textContent)"
)


def offered(worker: Worker, channel: str, queue: str) -> float:
    return worker.samples().get(
        sample("ccmon_contacts_offered_total", channel=channel, queue=queue), 0.0
    )


def wait_counted(worker: Worker, channel: str, queue: str, want: float, timeout: float) -> float:
    """Poll /metrics until the worker has counted ``want``; the monotonic time it had."""
    deadline = time.monotonic() + timeout
    while offered(worker, channel, queue) < want:
        assert time.monotonic() < deadline, f"{channel}/{queue} never reached {want}"
        time.sleep(0.05)
    return time.monotonic()


def page_alert(alertmanager: AlertmanagerServer, queue: str) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {
            "alertname": "CcmonServiceLevelBudgetBurn",
            "severity": "page",
            "channel": "call",
            "queue": queue,
        },
        "annotations": {"summary": f"call queue {queue} is burning its service-level budget"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }
    quiet = {**alert, "labels": {**alert["labels"], "alertname": "Quiet", "severity": "ticket"}}
    request = urllib.request.Request(
        f"{alertmanager.url}/api/v2/alerts",
        data=json.dumps([alert, quiet]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_wall_in_chromium_follows_the_worker_goes_delayed_and_recovers(
    topology: Topology, unique_name: str, tmp_path: Path
) -> None:
    topics = topology.create_topics(2, EVERY_CHANNEL)
    (tmp_path / "alertmanager.yml").write_text(ALERTMANAGER_YML)
    alertmanager = topology.alertmanager(tmp_path / "alertmanager.yml")
    worker, wall = designed_worker_and_wall(
        topology, tmp_path, "--alertmanager", alertmanager.url, "--timezone", "Europe/Paris"
    )
    try:
        produce(topology.kafka, designed_state(topics, unique_name).records)
        wait_counted(worker, "call", "support", 41, 90)
        page_alert(alertmanager, "support")
        with chromium(1920, 1080) as page:
            page.goto(wall.url + "/")
            until(
                page,
                f"{LIVE} && document.querySelectorAll('[data-tile]').length === 5 && "
                f"{shows('call:sales', 'offered_today', '43')} && "
                "document.querySelector('#alerts .alert') !== null",
                30_000,
            )
            # Staffing beside the queue: the agents the forecast sees (10 staffed, 3 free),
            # and how many it says the target needs: no more than are staffed, so the
            # number is not marked on a tile that is OK (issue 23).
            until(
                page,
                f"{shows('call:sales', 'agents_staffed', '10')} && "
                f"{shows('call:support', 'agents_staffed', '3')} && "
                "!" + shows("call:sales", "agents_required", "\u2014"),
                30_000,
            )
            assert (
                page.eval_on_selector(
                    '[data-tile="call:sales"] [data-field="agents_available"]',
                    "el => el.firstChild.textContent",
                )
                == "3"
            )
            required = '[data-tile="call:sales"] [data-field="agents_required"]'
            assert page.get_attribute(required, "data-state") == "ok"
            # call/support answers its calls with the agents it has (3): all of them busy.
            assert (
                page.eval_on_selector(
                    '[data-tile="call:support"] [data-field="agents_available"]',
                    "el => el.firstChild.textContent",
                )
                == "0"
            )
            banner = page.inner_text("#alerts")
            assert "call queue support is burning" in banner and "Quiet" not in banner
            assert page.get_attribute('[data-tile="call:support"]', "data-state") == "alarm"
            assert page.get_attribute('[data-tile="chat:billing"]', "data-state") == "warn"
            assert page.get_attribute('[data-tile="call:sales"]', "data-state") == "ok"
            assert "BREACHED" in page.inner_text('[data-tile="call:support"] .badge')
            assert "support" in page.inner_text("#worst")
            # Not hue alone: each state has its own shape and word on the tile's badge.
            badges = {
                tile: page.inner_text(f'[data-tile="{tile}"] .badge')
                for tile in ("call:sales", "chat:billing", "call:support")
            }
            assert badges == {
                "call:sales": "\u25cfOK",
                "chat:billing": "\u25b2AT RISK",
                "call:support": "\u2716BREACHED",
            }
            # Tickets: backlog, overdue and oldest open, breached by the overdue ones.
            assert page.get_attribute('[data-tile="ticket:support"]', "data-state") == "alarm"
            overdue = '[data-tile="ticket:support"] [data-field="overdue"]'
            assert page.get_attribute(overdue, "data-state") == "alarm"
            assert page.eval_on_selector(overdue, "el => el.firstChild.textContent") == "6"
            assert page.inner_text('[data-tile="ticket:support"] [data-field="backlog"]') == "38"
            # The header: the site's local time (the server's clock, in --timezone).
            assert page.inner_text("#zone") == "Europe/Paris"
            paris = datetime.now(ZoneInfo("Europe/Paris"))
            shown = datetime.strptime(page.inner_text("#clock"), "%H:%M:%S")
            drift = abs((shown.hour * 3600 + shown.minute * 60 + shown.second) -
                        (paris.hour * 3600 + paris.minute * 60 + paris.second))  # fmt: skip
            assert min(drift, 86400 - drift) <= 2, (page.inner_text("#clock"), paris)
            assert_fits(page, 1080)
            publish_readme_shot(screenshot(page, "wall-1080p-live"))
            # As colour-blind viewers see it, Chromium's own emulation, for a person to judge:
            # the states must still differ by shape, word and frame.
            cdp = page.context.new_cdp_session(page)
            for vision in ("deuteranopia", "protanopia", "achromatopsia"):
                cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": vision})
                screenshot(page, f"wall-1080p-{vision}")
            cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
            oldest = '[data-tile="call:support"] [data-field="oldest_waiting"]'
            assert page.get_attribute(oldest, "data-state") == "alarm"
            page.set_viewport_size({"width": 3840, "height": 2160})
            assert_fits(page, 2160)
            screenshot(page, "wall-2160p-live")
            page.set_viewport_size({"width": 1920, "height": 1080})

            # One server, several screens: this one's queues, order, columns and theme.
            page.goto(wall.url + "/?channel=call&queue=support,sales&cols=2&theme=light&tz=UTC")
            until(page, f"{LIVE} && document.querySelectorAll('[data-tile]').length === 2", 10_000)
            order = page.eval_on_selector_all("[data-tile]", "els => els.map(e => e.dataset.tile)")
            assert order == ["call:support", "call:sales"]
            assert "light" in (page.get_attribute("body", "class") or "")
            grid = "el => getComputedStyle(el).gridTemplateColumns.split(' ').length"
            assert page.eval_on_selector("#contacts", grid) == 2
            assert page.inner_text("#zone") == "UTC"
            assert_fits(page, 1080)
            screenshot(page, "wall-1080p-light-2-queues")
            page.goto(wall.url + "/")
            until(page, f"{LIVE} && document.querySelectorAll('[data-tile]').length === 5", 10_000)

            # One queue changes: the tile shows it within 2 s of the worker counting it.
            more = Events(topics, f"{unique_name}-more")
            for _ in range(5):
                more.waiting("call", "sales", since=1)
            send(topology.kafka, more.records)
            counted = wait_counted(worker, "call", "sales", 48, 30)
            left_ms = (counted + COUNTED_TO_SHOWN_SECONDS - time.monotonic()) * 1000
            until(
                page,
                f"{shows('call:sales', 'offered_today', '48')} && "
                f"{shows('call:sales', 'waiting', '6')} && {LIVE}",
                max(left_ms, 1),
            )
            assert time.monotonic() - counted <= COUNTED_TO_SHOWN_SECONDS
            assert secrets_in(page.content()) == []

            # The worker stops: greyed out and said, within 5 s.
            page.evaluate("() => { window.__sameDocument = true; }")  # gone if it reloads
            worker.stop()
            stopped = time.monotonic()
            until(page, DELAYED, STOPPED_TO_DELAYED_SECONDS * 1000)
            assert time.monotonic() - stopped <= STOPPED_TO_DELAYED_SECONDS
            assert page.inner_text("#status .word") == "DELAYED"
            screenshot(page, "wall-1080p-delayed")

            # A worker is back: live again without a reload, same counts, new events shown.
            worker = topology.worker("w2").start(all_partitions=True)
            until(page, f"{LIVE} && {shows('call:sales', 'offered_today', '48')}", 60_000)
            again = Events(topics, f"{unique_name}-again")
            again.waiting("call", "sales", since=1)
            send(topology.kafka, again.records)
            counted = wait_counted(worker, "call", "sales", 49, 30)
            left_ms = (counted + COUNTED_TO_SHOWN_SECONDS - time.monotonic()) * 1000
            until(page, shows("call:sales", "offered_today", "49"), max(left_ms, 1))
            assert page.evaluate("() => window.__sameDocument") is True, "recovered by a reload"
            screenshot(page, "wall-1080p-recovered")

            # The wall server itself goes away (a restart, a network cut): the page says so
            # by its own clock, and reconnects to the new server by itself.
            wall.stop()
            stopped = time.monotonic()
            until(page, DELAYED, STOPPED_TO_DELAYED_SECONDS * 1000)
            assert time.monotonic() - stopped <= STOPPED_TO_DELAYED_SECONDS
            assert page.inner_text("#delayed-why").startswith("no update from the wall server")
            wall = WallProcess(
                topology.redis,
                unique_name,
                tmp_path,
                args=wall.args,
                port=wall.port,
                settings=wall.settings,
            ).start()
            until(page, f"{LIVE} && {shows('call:sales', 'offered_today', '49')}", 30_000)
            assert page.evaluate("() => window.__sameDocument") is True, "reconnected by a reload"
    finally:
        wall.stop()
        worker.stop()
