"""PASS/FAIL: a worker's /metrics against the recount of what was produced."""

from __future__ import annotations

from bench.events import Expected
from bench.worker import Samples, queue_sums, total


def _index(samples: Samples) -> dict[tuple[str, str, str], float]:
    """(sample name, channel, queue) -> value summed over the other labels."""
    out: dict[tuple[str, str, str], float] = {}
    for (name, labels), value in samples.items():
        d = dict(labels)
        if "queue" in d and "window" not in d:
            key = (name, d["channel"], d["queue"])
            out[key] = out.get(key, 0.0) + value
    return out


def verify(
    samples: Samples, expected: Expected, windows: bool = True, intake: bool = True
) -> list[str]:
    """Every per-queue counter (and, with ``windows``, the "today" window, which the default
    series budget exports) against the recount of what was produced, exactly; an empty list
    means PASS. ``intake`` checks what this process received, its duplicates included (not
    for a worker restarted meanwhile: those counters live and die with the process).

    ``ccmon_events_total`` counts records *received* per worker process: a rebalance or a
    restart reads source records again since the last commit, so the intake may exceed
    what was produced. Those are replays, recognised by their source position, never
    duplicates: ``ccmon_events_duplicate_total`` must equal the re-sends the preload holds.
    (On ccmon before issue 22, a replayed re-send is counted as a duplicate once more.)"""
    problems: list[str] = []
    index = _index(samples)
    for (channel, queue), counters in sorted(expected.by_queue.items()):
        for name, want in sorted(counters.items()):
            got = index.get((name, channel, queue), 0.0)
            if got != want:
                problems.append(f"{name}{{channel={channel},queue={queue}}} = {got:g}, want {want}")
    extra = {cq for cq, v in queue_sums(samples).items() if v} - set(expected.by_queue)
    if extra:
        problems.append(f"{len(extra)} unexpected channel x queue series, e.g. {min(extra)}")
    for (topic, kind), want in sorted(expected.by_topic_type.items() if intake else ()):
        got = total(samples, "ccmon_events_total", topic=topic, type=kind)
        if got < want:
            problems.append(
                f"ccmon_events_total{{topic={topic},type={kind}}} = {got:g}, want >= {want}"
            )
    got = total(samples, "ccmon_events_duplicate_total")
    if intake and got != expected.duplicates:
        problems.append(f"ccmon_events_duplicate_total = {got:g}, want {expected.duplicates}")
    for name in (
        "ccmon_events_rejected_total",
        "ccmon_events_late_total",
        "ccmon_events_queue_overflow_total",
    ):
        if (got := total(samples, name)) != 0:
            problems.append(f"{name} = {got:g}, want 0")
    if not windows or not expected.one_day:
        # A preload across midnight UTC: "today" holds only part of it (rare, and then the
        # per-queue counters above are the whole check).
        return _capped(problems)
    want_offered = sum(
        c["ccmon_contacts_offered_total"]
        for (ch, _), c in expected.by_queue.items()
        if ch != "ticket"
    )
    got_offered = total(samples, "ccmon_window_contacts_offered", window="today")
    if got_offered != want_offered:
        name = 'ccmon_window_contacts_offered{window="today"}'
        problems.append(f"{name} sum = {got_offered:g}, want {want_offered}")
    return _capped(problems)


# The per-queue count of a window that each event type's counter has a twin of.
WINDOW_OF = {
    "ccmon_contacts_offered_total": "ccmon_window_contacts_offered",
    "ccmon_contacts_answered_total": "ccmon_window_contacts_answered",
    "ccmon_contacts_abandoned_total": "ccmon_window_contacts_abandoned",
    "ccmon_contacts_blocked_total": "ccmon_window_contacts_blocked",
    "ccmon_tickets_created_total": "ccmon_window_tickets_created",
}


def window_families(samples: Samples, window: str = "today") -> list[str]:
    """The windowed families of :data:`WINDOW_OF` the workers export for ``window``: what
    :func:`verify_window` checks."""
    exported = {name for (name, labels) in samples if dict(labels).get("window") == window}
    return [name for name in WINDOW_OF.values() if name in exported]


def verify_window(samples: Samples, day: Expected, window: str = "today") -> list[str]:
    """Every channel x queue's counts of ``window`` against the recount of the events whose
    event time falls in it (``day``: the tally of the last UTC day for "today"), exactly,
    for each family the workers export for it (:func:`window_families`)."""
    got: dict[tuple[str, str, str], float] = {}
    for (name, labels), value in samples.items():
        d = dict(labels)
        if d.get("window") == window and "queue" in d:
            key = (name, d["channel"], d["queue"])
            got[key] = got.get(key, 0.0) + value
    problems = []
    # The series budget leaves some of them out of "today" (answered and blocked; docs/
    # metrics.md, "Series budget"): a family no worker exports for the window is not a
    # count of 0 (a week at 300,000 events a day read 1,814 such "mismatches"). One
    # exported for some pairs and missing for others is.
    exported = set(window_families(samples, window))
    for (channel, queue), counters in sorted(day.by_queue.items()):
        for counter, name in WINDOW_OF.items():
            if name not in exported:
                continue
            want = counters.get(counter, 0)
            if (value := got.get((name, channel, queue), 0.0)) != want:
                problems.append(
                    f"{name}{{channel={channel},queue={queue},window={window}}}"
                    f" = {value:g}, want {want}"
                )
    if not day.by_queue:
        problems.append(f"no event in the window {window}: nothing was checked")
    elif not exported:
        problems.append(f"no count of the window {window} is exported: nothing was checked")
    return _capped(problems)


def _capped(problems: list[str]) -> list[str]:
    return problems[:20] + ([f"... {len(problems) - 20} more"] if len(problems) > 20 else [])
