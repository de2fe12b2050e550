"""Helpers of tests/e2e/test_alerting.py: a webhook sink standing in for the pager,
the ticketing tool and the dead man's switch; the scenario's fast-`for:` rules variant;
the test copy of the Alertmanager configuration; events (the Prometheus configuration and
the API clients are tests/support/prometheus.py's).

Standard library + PyYAML + orjson only; nothing here talks to a service it did not get
the URL of.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import orjson
import yaml

from tests.support.prometheus import fast_rules, rules_variant
from tests.support.services import ROOT

T = TypeVar("T")

RULES = ROOT / "alerts" / "ccmon.rules.yml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
# The receivers' placeholder base URL in deploy/alertmanager/alertmanager.yml.
WEBHOOK_PLACEHOLDER = "http://127.0.0.1:9095"

# ---------------------------------------------------------------- the fast rules variant
# The test runs in real time, so the `for:` of the alerts the scenario drives (the SLO
# burn-rate tiers and every per-queue contact alert) is cut to FAST_FOR. Expressions,
# thresholds, windows, labels and annotations stay those of alerts/config.yaml. The ticket
# and pipeline alerts keep their production `for:` (minutes to hours): the scenario does not
# drive them, and with the test's unique topic names the per-topic pipeline alerts
# (CcmonEventSourceAbsent for contact-center.*) would otherwise fire as noise.
FAST_FOR = "10s"
FAST_ALERTS = (
    "CcmonServiceLevelBelowTarget",
    "CcmonOldestWaitingAboveThreshold",
    "CcmonContactsWaitingAboveLimit",
    "CcmonBlockingRatioHigh",
    "CcmonAbandonRatioHigh",
    "CcmonCallbackPromisesMissed",
    "CcmonUnderstaffed",
)
FAST_GROUPS = ("ccmon.slo.alerts", "ccmon.queue.alerts")


def fast_config() -> dict[str, Any]:
    """alerts/config.yaml with FAST_FOR for the burn-rate tiers and FAST_ALERTS: only `for:`."""
    return rules_variant(dict.fromkeys(FAST_ALERTS, FAST_FOR), slo_for=FAST_FOR)


def write_fast_rules(directory: Path) -> Path:
    return fast_rules(directory, dict.fromkeys(FAST_ALERTS, FAST_FOR), slo_for=FAST_FOR)


def rule_differences(committed: dict[str, Any], variant: dict[str, Any]) -> list[str]:
    """Everything that differs between two rule files except `for:` (empty = same rules)."""
    problems: list[str] = []
    groups_a, groups_b = committed["groups"], variant["groups"]
    if [g["name"] for g in groups_a] != [g["name"] for g in groups_b]:
        return [f"groups differ: {[g['name'] for g in groups_a]} / {[g['name'] for g in groups_b]}"]
    for ga, gb in zip(groups_a, groups_b, strict=True):
        if {k: v for k, v in ga.items() if k != "rules"} != {
            k: v for k, v in gb.items() if k != "rules"
        }:
            problems.append(f"group {ga['name']}: settings differ")
        if len(ga["rules"]) != len(gb["rules"]):
            problems.append(f"group {ga['name']}: {len(ga['rules'])} vs {len(gb['rules'])} rules")
            continue
        for ra, rb in zip(ga["rules"], gb["rules"], strict=True):
            a = {k: v for k, v in ra.items() if k != "for"}
            b = {k: v for k, v in rb.items() if k != "for"}
            if a != b:
                name = ra.get("alert") or ra.get("record")
                keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                problems.append(f"group {ga['name']} rule {name}: {keys} differ")
    return problems


def for_durations(rules: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(group, alert, for) of every alerting rule, in file order."""
    return [
        (g["name"], r["alert"], r.get("for"))
        for g in rules["groups"]
        for r in g["rules"]
        if "alert" in r
    ]


# ---------------------------------------------------------------- configuration copies
# What the copy of deploy/alertmanager/alertmanager.yml changes besides the receivers' URLs:
# the root route's group_interval (inherited by the pager and ticket routes) is 5m, and a
# resolved notification leaves only at the next group_interval of its group; 5s keeps the
# recovery check within seconds. group_wait, repeat_interval, matchers, inhibition and
# send_resolved are the file's own.
ALERTMANAGER_GROUP_INTERVAL = "5s"


def alertmanager_copy(base_url: str) -> tuple[str, dict[str, Any]]:
    """(text of the test copy, the original parsed) with receivers on `base_url`."""
    original_text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    original = yaml.safe_load(original_text)
    doc = yaml.safe_load(original_text.replace(WEBHOOK_PLACEHOLDER, base_url))
    doc["route"]["group_interval"] = ALERTMANAGER_GROUP_INTERVAL
    return yaml.safe_dump(doc, sort_keys=False), original


# ---------------------------------------------------------------- the webhook sink
@dataclass(frozen=True)
class Notification:
    path: str
    payload: dict[str, Any]
    received: float

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return list(self.payload.get("alerts", []))

    def summary(self) -> str:
        alerts = ", ".join(
            f"{a['labels'].get('alertname')}{{queue={a['labels'].get('queue', '')}}}:{a['status']}"
            for a in self.alerts
        )
        return f"POST {self.path} status={self.payload.get('status')} [{alerts}]"


@dataclass
class WebhookSink:
    """Records every JSON POST on 127.0.0.1 (free port); `base_url` replaces :9095."""

    notifications: list[Notification] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "sink not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[WebhookSink]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode(errors="replace")}
                with sink._lock:
                    sink.notifications.append(Notification(self.path, payload, time.time()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(10)

    def received(self, path: str | None = None) -> list[Notification]:
        with self._lock:
            return [n for n in self.notifications if path is None or n.path == path]

    def alerts(self, path: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(path, alert) of every alert in every notification received."""
        return [(n.path, a) for n in self.received(path) for a in n.alerts]

    def find(self, path: str, alertname: str, status: str, **labels: str) -> dict[str, Any] | None:
        for _, a in self.alerts(path):
            if (
                a["labels"].get("alertname") == alertname
                and a["status"] == status
                and all(a["labels"].get(k) == v for k, v in labels.items())
            ):
                return a
        return None

    def describe(self) -> str:
        lines = [n.summary() for n in self.received()]
        return "\n".join(lines) or "(nothing received)"


# ---------------------------------------------------------------- events
@dataclass
class EventBatch:
    """Contact-centre events in the contract of docs/events.md, keyed by queue (one source
    partition per queue keeps each contact's events in order)."""

    topics: dict[str, str]
    prefix: str
    records: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    _n: int = 0

    def event(
        self, channel: str, kind: str, queue: str, contact: str, at: float, **fields: Any
    ) -> dict[str, Any]:
        self._n += 1
        doc = {
            "event_id": f"{self.prefix}-{self._n}",
            "type": kind,
            "occurred_at": int(at * 1000),
            "queue": queue,
            "contact_id": contact,
            **fields,
        }
        self.records.append((self.topics[channel], queue.encode(), orjson.dumps(doc)))
        return doc

    def agent(self, kind: str, agent: str, at: float, **fields: Any) -> None:
        """An agent state event (docs/events.md, "Agent events"), keyed by agent."""
        self._n += 1
        doc = {"event_id": f"{self.prefix}-{self._n}", "type": kind, "occurred_at": int(at * 1000)}
        doc |= {"agent_id": agent, **fields}
        self.records.append((self.topics["agent"], agent.encode(), orjson.dumps(doc)))

    def raw(self, channel: str, value: bytes) -> None:
        self.records.append((self.topics[channel], None, value))

    def answered_call(
        self,
        queue: str,
        contact: str,
        offered_at: float,
        wait: float,
        *,
        channel: str = "call",
        talk: float = 180.0,
    ) -> None:
        self.event(channel, "offered", queue, contact, offered_at)
        self.event(channel, "answered", queue, contact, offered_at + wait, wait_seconds=wait)
        self.event(
            channel,
            "ended",
            queue,
            contact,
            offered_at + wait + talk,
            talk_seconds=talk,
            hold_seconds=10,
            wrap_seconds=20,
            resolved_first_contact=True,
        )

    def abandoned_call(self, queue: str, contact: str, offered_at: float, wait: float) -> None:
        self.event("call", "offered", queue, contact, offered_at)
        self.event("call", "abandoned", queue, contact, offered_at + wait, wait_seconds=wait)

    def take(self) -> list[tuple[str, bytes | None, bytes]]:
        out, self.records = self.records, []
        return out
