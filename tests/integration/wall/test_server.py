"""The wall server itself on real Redis: optional token and Basic authentication, read-only
routes, and an unreachable Redis said as such rather than shown as an empty, live screen."""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ccmon.agents.devkit.procs import free_port
from ccmon.agents.devkit.wallproc import WallError, WallProcess
from tests.support.services import RedisServer
from tests.support.wall import configured_wall, wall_metrics


def status(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def guarded(redis_server: RedisServer, unique_name: str, tmp_path: Path) -> WallProcess:
    wall = WallProcess(
        redis_server.url,
        unique_name,
        tmp_path,
        settings={"CCMON_WALL_TOKEN": "s3cret-token", "CCMON_WALL_BASIC_AUTH": "tv:pass word"},
    ).start()
    yield wall  # type: ignore[misc]
    wall.stop()


def test_token_or_basic_credentials_open_the_data_and_nothing_else_does(
    guarded: WallProcess,
) -> None:
    base = guarded.url
    for path in ("/", "/api/state", "/feed"):
        assert status(base + path) == 401, path
        assert status(base + path + "?token=wrong") == 401, path
        assert status(base + path, headers={"Authorization": "Bearer nope"}) == 401, path
    basic = "Basic " + base64.b64encode(b"tv:pass word").decode()
    assert status(base + "/api/state?token=s3cret-token") == 200
    assert status(base + "/api/state", headers={"Authorization": "Bearer s3cret-token"}) == 200
    assert status(base + "/api/state", headers={"Authorization": basic}) == 200
    wrong = "Basic " + base64.b64encode(b"tv:guess").decode()
    assert status(base + "/api/state", headers={"Authorization": wrong}) == 401
    assert status(base + "/?token=s3cret-token") == 200
    # No data there: a TV can load the page's script and style before it authenticates.
    assert status(base + "/healthz") == 200
    assert status(base + "/metrics") == 200  # the server's own numbers, for Prometheus
    assert status(base + "/static/wall.js") == 200
    assert status(base + "/static/../server.py") == 404


def test_read_only_and_served_with_a_strict_policy(guarded: WallProcess) -> None:
    url = guarded.url + "/api/state?token=s3cret-token"
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert status(url, method=method) == 405, method
    with urllib.request.urlopen(guarded.url + "/?token=s3cret-token", timeout=5) as r:
        page = r.read().decode()
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "http://" not in page and "https://" not in page, "no CDN: everything is local"


def test_an_unreachable_read_model_is_reported_not_shown_as_live(
    unique_name: str, tmp_path: Path
) -> None:
    wall = WallProcess(f"redis://127.0.0.1:{free_port()}/0", unique_name, tmp_path).start()
    try:
        deadline = time.monotonic() + 10
        while True:  # the first read is under way, then fails: poll for its outcome
            with urllib.request.urlopen(wall.url + "/api/state", timeout=5) as r:
                state = json.loads(r.read())
            assert state["source"]["ok"] is False
            if "Redis" in state["source"]["error"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert "Redis" in state["source"]["error"]
        with urllib.request.urlopen(wall.url + "/healthz", timeout=5) as r:
            assert json.loads(r.read())["read_model"] is False
        metrics = wall_metrics(wall.url)
        assert metrics["ccmon_wall_read_model_up"] == 0
        assert metrics["ccmon_wall_redis_errors_total"] >= 1
    finally:
        wall.stop()


def test_an_unreachable_alertmanager_is_said_not_shown_as_no_alerts(
    redis_server: RedisServer, unique_name: str, tmp_path: Path
) -> None:
    # Nothing listens there: an empty banner would claim "nothing pages".
    nobody = f"http://127.0.0.1:{free_port()}"
    wall = WallProcess(
        redis_server.url, unique_name, tmp_path, args=("--alertmanager", nobody)
    ).start()
    try:
        deadline = time.monotonic() + 10
        while True:  # "not asked yet" until the first poll has failed
            with urllib.request.urlopen(wall.url + "/api/state", timeout=5) as r:
                alerts = json.loads(r.read())["alerts"]
            if "unreachable" in alerts["error"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert alerts["enabled"] is True and alerts["ok"] is False, alerts
        assert alerts["error"].startswith("Alertmanager unreachable"), alerts
        with urllib.request.urlopen(wall.url + "/healthz", timeout=5) as r:
            assert json.loads(r.read())["alertmanager"] is False
        assert wall_metrics(wall.url)["ccmon_wall_alertmanager_errors_total"] >= 1
    finally:
        wall.stop()


def test_its_metrics_count_the_screens_and_what_they_were_sent(guarded: WallProcess) -> None:
    """What CcmonWallNoScreens and CcmonWallDataStale are judged by; no data of the contact
    centre, so Prometheus scrapes it without the screens' credentials."""
    before = wall_metrics(guarded.url)
    assert before["ccmon_wall_screens"] == 0
    assert before["ccmon_wall_info"] == 1 and "process_cpu_seconds_total" in before
    where = urlsplit(guarded.url)
    screen = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    screen.request("GET", "/feed?token=s3cret-token")
    response = screen.getresponse()
    try:
        messages = 0
        while messages < 2:
            messages += response.readline().startswith(b"data: ")
        during = wall_metrics(guarded.url)
        assert during["ccmon_wall_screens"] == 1
        assert during["ccmon_wall_feed_messages_total"] >= 2
        # Nothing published under this prefix: the data is as old as the server.
        assert during["ccmon_wall_read_model_age_seconds"] > 0
        assert during["ccmon_wall_queues"] == 0
    finally:
        screen.close()
    deadline = time.monotonic() + 10
    while wall_metrics(guarded.url)["ccmon_wall_screens"] != 0:  # its next write fails
        assert time.monotonic() < deadline, "a closed screen still counted"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("wall_yaml", "settings", "said"),
    [
        (
            "screens: {floor: {queues: [sales, sails]}}\n",
            {},
            "screens.floor.queues[1]: unknown queue (queues: sales, support) (got 'sails')",
        ),
        ("language: de\n", {}, "language: must be 'en' or 'fr' (got 'de')"),
        (
            "screens: {floor: {queues: [sales]}}\nrotations: {r: {screens: [floor], seconds: 0}}\n",
            {},
            "rotations.r.seconds: must be greater than 0 (got 0)",
        ),
        ("agent_board: true\n", {}, "agent_board: true shows agents by name: set CCMON_WALL_TOKEN"),
        ("{}\n", {"CCMON_WALL_LANGUAGE": "es"}, "CCMON_WALL_LANGUAGE: must be '', 'en' or 'fr'"),
    ],
)
def test_bad_screens_stop_the_wall_at_start_saying_why(
    redis_server: RedisServer,
    unique_name: str,
    tmp_path: Path,
    wall_yaml: str,
    settings: dict[str, str],
    said: str,
) -> None:
    queues = tmp_path / "queues.yaml"
    queues.write_text("queues: {sales: {}, support: {}}\n")
    wall = configured_wall(redis_server.url, unique_name, tmp_path, wall_yaml, queues, **settings)
    with pytest.raises(WallError) as failed:
        wall.start()
    assert said in str(failed.value), str(failed.value)
    assert "ccmon wall:" in str(failed.value)


def test_an_address_no_screen_answers_to_is_said_on_the_screen(guarded: WallProcess) -> None:
    for query in ("?lang=de", "?screen=nope", "?rotation=nope", "?board=agents"):
        url = f"{guarded.url}/{query}&token=s3cret-token"
        assert status(url) == 400, query
        assert status(f"{guarded.url}/feed{query}&token=s3cret-token") == 400, query
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{guarded.url}/api/state?lang=de&token=s3cret-token", timeout=5)
    assert b"unknown language 'de' (?lang= takes en, fr)" in answer.value.read()
