"""Closed records on real Kafka and Redis (issue 26's bars): a three-day simulation (calls,
chats, tickets with conversations and pauses; two queues with different calendars, zones
and intervals) gives interval and day records equal to an independent recount
(tests/support/records.py), and ``ccmon report`` prints them as CSV and HTML."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from tests.support.cli import run_ccmon
from tests.support.kafka_io import produce, topic_config
from tests.support.paths import ROOT
from tests.support.records import differences, settled_records, three_days
from tests.support.services import KafkaServer, RedisServer
from tests.support.wall import ARTIFACTS, chromium, publish_readme_shot, screenshot
from tests.support.worker import Worker


def test_three_days_of_records_equal_the_recount_and_the_report_prints_them(
    kafka: KafkaServer, redis_server: RedisServer, unique_name: str, tmp_path: Path
) -> None:
    days = three_days(kafka.bootstrap, unique_name)
    expected = days.expected
    worker = Worker(kafka.bootstrap, redis_server.url, tmp_path, unique_name, env=days.env)
    worker.start()
    try:
        produce(kafka.bootstrap, days.sources)
        found = settled_records(kafka.bootstrap, f"{unique_name}-records", set(expected))
        samples = worker.samples()
    finally:
        worker.stop()
    assert differences(expected, found) == []
    # Where an audit reads them: a compacted topic that time never empties (the preflight's).
    kept = topic_config(kafka.bootstrap, f"{unique_name}-records")
    assert (kept["cleanup.policy"], kept["retention.ms"]) == ("compact", "-1"), kept
    days = [k for k in expected if k[2] == "day"]
    assert len(days) == 12 and len(expected) > 700
    assert all(found[k]["revision"] == 1 for k in days), "no late event: every day once"

    settings = {"CCMON_KAFKA": kafka.bootstrap, "CCMON_APP_ID": unique_name}
    report = run_ccmon("report", "--from", "2026-11-25", "--to", "2026-11-28", **settings)
    assert report.returncode == 0, report.stderr
    # A long read shows its progress (on stderr: stdout is the report), at least at its end.
    assert re.search(r"ccmon report: [\d,]+ of [\d,]+ records read", report.stderr), report.stderr
    rows = list(csv.DictReader(io.StringIO(report.stdout)))
    by_day = {(r["channel"], r["queue"], r["period"], r["promise"]): r for r in rows}
    sales = by_day[("call", "sales", "2026-11-27", "service_level")]
    want = expected[("call", "sales", "day", "2026-11-27T00:00+01:00")]
    assert (int(sales["kept"]), int(sales["counted"])) == (want["sl_good"], want["sl_eligible"])
    assert by_day[("call", "sales", "2026-11-28", "service_level")]["met"] == "closed"  # Saturday
    month = by_day[("ticket", "care", "2026-11", "next_reply")]
    assert int(month["counted"]) == sum(
        v.get("met:next_reply", 0) + v.get("missed:next_reply", 0)
        for k, v in expected.items()
        if k[:3] == ("ticket", "care", "day")
    )
    # The Grafana compliance view's gauges say what the report's month rows say (the stream
    # clock is in November: this month is November).
    for row in rows:
        if row["row"] == "month" and row["promise"] in ("service_level", "first_reply"):
            labels = (("channel", row["channel"]), ("queue", row["queue"]))
            for name, column in (("open", "days_open"), ("met", "days_met")):
                gauge = samples[(f"ccmon_compliance_days_{name}", labels)]
                assert gauge == float(row[column]), (row, name)
    page = tmp_path / "report.html"
    html = run_ccmon("report", "--from", "2026-11-25", "--to", "2026-11-28", "--format",
                     "html", "--output", str(page), **settings)  # fmt: skip
    assert html.returncode == 0, html.stderr
    text = page.read_text()
    assert "<svg" in text and "http" not in text.replace("http://www.w3.org", "")
    # As a reader sees it, in a real browser, offline (docs/report.png).
    with chromium(1280, 900) as browser:
        browser.route("**/*", lambda route: route.abort() if not route.request.url.startswith(
            "file:") else route.continue_())  # fmt: skip
        browser.goto(page.as_uri())
        assert browser.locator("svg").count() == 4  # one chart per queue
        shot = screenshot(browser, "report-3-days", ARTIFACTS.parent / "report", full_page=True)
    publish_readme_shot(shot, ROOT / "docs" / "report.png")

    empty = run_ccmon("report", "--from", "2020-01-01", "--to", "2020-01-31", **settings)
    assert empty.returncode == 1 and "no closed day record from 2020-01-01" in empty.stderr
