"""PromQL and rule-building helpers of `python -m alerts.build` (see its docstring)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

BY = "by (channel, queue)"
ON = "on (channel, queue)"
# Service-level series carry the profile they are computed in (docs/metrics.md,
# "Service-level profiles"); a queue's own is the one ccmon_queue_info names.
BY_PROFILE = "by (channel, queue, profile)"
OWN_PROFILE = "ccmon:queue_profile:info"

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> int:
    match = _DURATION.match(str(duration))
    if not match:
        raise ValueError(f"not a Prometheus duration like 5m or 1h: {duration!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


def q(metric: str, agg: str = "max") -> str:
    """One value per (channel, queue) of a per-queue metric."""
    return f"{agg} {BY} ({metric})"


def expr(text: str) -> str:
    return textwrap.dedent(text).strip()


def runbook(config: dict[str, Any], name: str) -> str:
    return f"{config['runbook_url']}#{name.lower()}"


def alert(
    config: dict[str, Any],
    name: str,
    query: str,
    severity: str,
    summary: str,
    description: str,
    *,
    for_: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr(query)}
    duration = for_ if for_ is not None else config["for"].get(name)
    if duration:
        rule["for"] = duration
    rule["labels"] = {"severity": severity, **(labels or {})}
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook_url": runbook(config, name),
    }
    return rule


def sum_increase(metric: str, window: str, by: str = BY) -> str:
    return f"sum {by} (increase({metric}[{window}]))"


def own_profile(query: str) -> str:
    """Only the series of the queue's own service-level profile (its target's)."""
    return f"(\n  {query}\n  and on (channel, queue, profile) {OWN_PROFILE}\n)"


def either(a: str, b: str) -> str:
    """a + b, or whichever exists when a queue has only one of the two counters yet."""
    return f"(\n  {a}\n  + {b}\n)\nor {a}\nor {b}"


def target_query(metric: str, fmt: str) -> str:
    """Template fragment printing a queue's target from a live query."""
    return (
        f'{{{{ with printf "max({metric}{{channel=%q,queue=%q}})" $labels.channel '
        f"$labels.queue | query }}}}{{{{ . | first | value | {fmt} }}}}{{{{ end }}}}"
    )


QUEUE = "{{ $labels.channel }} queue {{ $labels.queue }}"
