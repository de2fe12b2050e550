"""Prometheus text format 0.0.4, written directly: families, escaped labels, sample lines.

prometheus_client's ``generate_latest`` costs microseconds per sample; at 1,500 channel x
queue pairs that is most of a scrape. The per-queue metrics are therefore rendered here,
per pair, and a pair's lines are kept until its numbers change (:mod:`.queues`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Family:
    name: str  # as exposed: counters carry their ``_total`` here
    kind: str  # counter, gauge or histogram
    help: str

    def header(self) -> str:
        text = self.help.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {self.name} {text}\n# TYPE {self.name} {self.kind}\n"


def escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def pair_labels(channel: str, queue: str) -> str:
    return f'channel="{channel}",queue="{escape(queue)}"'


def number(value: float) -> str:
    """Go's float syntax, which Prometheus parses: 1.0, 1e+16, +Inf, NaN."""
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(value)


def line(name: str, labels: str, value: float) -> str:
    return f"{name}{{{labels}}} {number(value)}\n"


def render(families: Iterable[Family], lines: dict[str, list[str]]) -> str:
    """Every family's header, then its lines (empty families keep their header, as
    prometheus_client does, so the set of names never depends on the data)."""
    return "".join(f.header() + "".join(lines.get(f.name, ())) for f in families)
