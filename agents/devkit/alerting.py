"""The demo's Prometheus and Alertmanager: ccmon's own alert rules on the demo's worker, so
that the wall's red banner shows a page alert when one fires (docs/wall.md; README, "What
the demo shows").

They are the machine's own (``make deps`` installs Debian's ``prometheus`` and
``prometheus-alertmanager``; or ``CCMON_DEMO_PROMETHEUS_BIN`` / ``CCMON_DEMO_ALERTMANAGER_BIN``)
and the rules the repository generates (``alerts/ccmon.rules.yml``): an installed ccmon
outside the source tree has no rules file, and a machine without the binaries has no
Prometheus; the demo then runs without the banner and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ccmon.agents.devkit.procs import Child, ChildError, free_port, spawn

RULES = Path(__file__).resolve().parents[2] / "alerts" / "ccmon.rules.yml"
START_SECONDS = 60.0
# Faster than production (15 s), so that a page alert reaches the wall soon after its
# `for:` is over; the rules and their `for:` are the production ones.
SCRAPE_SECONDS = 5


class AlertingError(ChildError):
    """Prometheus or Alertmanager did not start; the message has its log."""


def missing() -> str | None:
    """Why the demo cannot alert here, or None when it can."""
    if not RULES.is_file():
        return f"no alert rules at {RULES} (run the demo from a source checkout)"
    for name in ("prometheus", "alertmanager"):
        if _binary(name) is None:
            return f"no {name} binary (make deps installs it)"
    return None


def _binary(name: str) -> str | None:
    configured = os.environ.get(f"CCMON_DEMO_{name.upper()}_BIN")
    if configured:
        return configured
    if name == "alertmanager":
        return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    return shutil.which(name)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start(name: str, argv: list[str], url: str, workdir: Path) -> Child:
    child = spawn(name, argv, workdir / f"{name}.log", new_session=True)
    try:
        child.wait_until(lambda: _ready(url), START_SECONDS)
    except ChildError as exc:
        raise AlertingError(str(exc)) from None
    return child


@contextmanager
def demo_alerting(workdir: Path, worker_port: int, wall_port: int) -> Iterator[str]:
    """Alertmanager and a Prometheus that scrapes the worker (job ``ccmon``) and the wall
    (job ``ccmon-wall``) with ccmon's rules; yields Alertmanager's URL."""
    home = workdir / "alerting"
    home.mkdir(parents=True, exist_ok=True)
    am_port, prom_port = free_port(), free_port()
    am_url, prom_url = f"http://127.0.0.1:{am_port}", f"http://127.0.0.1:{prom_port}"
    (home / "alertmanager.yml").write_text(
        "route: {receiver: wall}\nreceivers: [{name: wall}]\n", encoding="utf-8"
    )
    scrape = f"{SCRAPE_SECONDS}s"
    config = {
        "global": {"scrape_interval": scrape, "evaluation_interval": scrape},
        "rule_files": [str(RULES)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {"job_name": "ccmon", "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]},
            {"job_name": "ccmon-wall", "static_configs": [{"targets": [f"127.0.0.1:{wall_port}"]}]},
        ],
    }
    (home / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    with ExitStack() as stack:
        alertmanager = _start(
            "alertmanager",
            [
                str(_binary("alertmanager")),
                f"--config.file={home / 'alertmanager.yml'}",
                f"--storage.path={home / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            am_url,
            home,
        )
        stack.callback(alertmanager.stop)
        prometheus = _start(
            "prometheus",
            [
                str(_binary("prometheus")),
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            prom_url,
            home,
        )
        stack.callback(prometheus.stop)
        yield am_url
