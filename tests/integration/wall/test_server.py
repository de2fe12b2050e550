"""The wall server itself on real Redis: optional token and Basic authentication, read-only
routes, and an unreachable Redis said as such rather than shown as an empty, live screen."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.services import RedisServer

from ccmon.agents.devkit.procs import free_port
from ccmon.agents.devkit.wallproc import WallProcess


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
    finally:
        wall.stop()
