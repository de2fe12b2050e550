"""The benchmark harness imports cleanly and its report reads a real result: a harness that
only breaks when someone runs `make bench` hides its figures' provenance."""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
from pathlib import Path

import bench
from bench import report
from bench.worker import parse_metrics
from tests.support.paths import ROOT

# Needs the `bench` extra (quixstreams), which `make bench` installs and `make test` does not.
OPTIONAL = {"bench.quix": "quixstreams"}


def test_every_bench_module_imports() -> None:
    # bench.__main__ runs the benchmark when imported; it only calls bench.cli.
    names = [
        m.name for m in pkgutil.iter_modules(bench.__path__, "bench.") if m.name != "bench.__main__"
    ]
    assert "bench.throughput" in names and "bench.scrape" in names
    for name in names:
        needs = OPTIONAL.get(name)
        if needs is None or importlib.util.find_spec(needs) is not None:
            importlib.import_module(name)


def latest_reference() -> Path:
    runs = sorted((ROOT / "bench" / "results").glob("reference-*.json"))
    assert runs, "no committed reference run in bench/results"
    return runs[-1]


def test_the_report_reads_the_committed_reference_run() -> None:
    result = json.loads(latest_reference().read_text())
    text = report.table(result)
    assert "counts: PASS" in text
    assert "series" in text and "per pair" in text  # the series budget's figure
    assert "while draining, scraped every second" in text
    assert report.all_verified(result)


def test_metrics_are_parsed_with_labels() -> None:
    samples = parse_metrics('# TYPE x counter\nx_total{channel="call",queue="a b"} 3.0\ny 1\n')
    assert samples[("x_total", (("channel", "call"), ("queue", "a b")))] == 3.0
    assert samples[("y", ())] == 1.0
