"""The printed table and the JSON result file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values``, nearest rank at or above it; 0 when there is none."""
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else 0.0


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return 1000 * percentile(seconds, q)


def write(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")


def all_verified(result: dict[str, Any]) -> bool:
    drains_ok = all(d["verified"] for d in result.get("drain", []))
    fresh_ok = all(f["unseen"] == 0 and not f["problems"] for f in result.get("freshness", []))
    restart_ok = not result.get("restart", {}).get("problems")
    wall_ok = not result.get("wall", {}).get("problems")
    return drains_ok and fresh_ok and restart_ok and wall_ok


def _row(cells: list[str], widths: list[int]) -> str:
    first, *rest = cells
    tail = "".join(f"{c:>{w}}" for c, w in zip(rest, widths[1:], strict=True))
    return f"{first:<{widths[0]}}{tail}"


WIDTHS = [46, 10, 8, 8, 10, 9, 10, 10, 8, 7]
HEADER = [
    "drain of the same preload",
    "events/s",
    "seconds",
    "startup",
    "CPU ms/ev",
    "its CPU",
    "RSS peak",
    "RSS after",
    "others",
]


def _plain(drain: dict[str, Any]) -> bool:
    """A ccmon drain without an ablation or the profiler (repeats count)."""
    variant = str(drain.get("extra", {}).get("variant", ""))
    return variant == "" or (variant.startswith("run ") and variant[4:].isdigit())


def _drain_table(drains: list[dict[str, Any]]) -> list[str]:
    lines = [_row([*HEADER, "counts"], WIDTHS)]
    for d in drains:
        cells = [
            d["system"],
            f"{d['rate']:,.0f}",
            f"{d['seconds']:.1f}",
            f"{d['startup_seconds']:.1f}s",
            f"{d.get('extra', {}).get('cpu_ms_per_event', 0):.3f}",
            f"{d.get('extra', {}).get('cpu_percent', 0):.0f}%",
            f"{d['rss_peak_mb']:.0f} MB",
            f"{d['rss_steady_mb']:.0f} MB" if d["rss_steady_mb"] else "-",
            f"{d.get('extra', {}).get('foreign_cpu_percent', 0):.0f}%",
            "PASS" if d["verified"] else "FAIL",
        ]
        lines.append(_row(cells, WIDTHS))
        x = d.get("extra", {})
        if "ingest_rate" in x:
            lines.append(
                f"    ingest {x['ingest_rate']:,.0f} ev/s; counting began "
                f"{x['counting_started_after_seconds']:.1f}s in; "
                f"{x['events_per_repartition_record']:.0f} events per repartition record"
                + (
                    f"; {x['redelivered']:,.0f} re-delivered by a rebalance"
                    if x.get("redelivered")
                    else ""
                )
            )
        lines.extend(f"    {p}" for p in d["problems"][:5])
    ccmon = [d for d in drains if d["system"].startswith("ccmon") and d["rate"] and _plain(d)]
    for c in ccmon[:1]:
        for name, runs in baseline_runs(drains).items():
            rate = sum(o["rate"] for o in runs) / len(runs)
            peak = max(o["rss_peak_mb"] for o in runs)
            each = (
                f" (against the mean of {len(runs)}: "
                + ", ".join(f"{c['rate'] / o['rate']:.3f}" for o in runs)
                + " each)"
                if len(runs) > 1
                else ""
            )
            lines.append(
                f"ratio ccmon/{name}: {c['rate'] / rate:.3f} throughput{each}, "
                f"{c['rss_peak_mb'] / max(peak, 1):.2f} peak RSS"
            )
    return lines


def baseline_runs(drains: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The baselines' drains by system (quixstreams runs before and after ccmon's first
    drain: bench.cli)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for d in drains:
        if not d["system"].startswith("ccmon") and d["rate"]:
            out.setdefault(d["system"].split()[0], []).append(d)
    return out


SCALE_TOLERANCE = 0.10  # CPU per event of n workers against one worker's (issue 22, item 6)


def scaling(drains: list[dict[str, Any]]) -> dict[str, Any]:
    """Scale-out efficiency of the plain ccmon drains of one partition count: per number of
    workers, the drain rate, the cores the workers used and the CPU per event, each against
    one worker's in the same run. Efficient when the CPU per event of every larger group
    stays within SCALE_TOLERANCE of one worker's: the work per event does not grow with the
    workers (how fast they drain also depends on the cores the machine has left them)."""
    plain = [d for d in drains if d["system"].startswith("ccmon") and d["rate"] and _plain(d)]
    by_workers: dict[int, dict[str, Any]] = {}
    for d in plain:
        if not d["verified"]:
            continue
        n = int(d["system"].split(", ")[1].split(" ")[0])
        by_workers.setdefault(n, d)  # the first run of each count (``--repeat``)
    one = by_workers.get(1)
    if one is None or len(by_workers) < 2:
        return {}
    base_cpu = one["extra"]["cpu_ms_per_event"]
    rows = {}
    for n, d in sorted(by_workers.items()):
        cpu = d["extra"]["cpu_ms_per_event"]
        rows[n] = {
            "rate": d["rate"],
            "speedup": d["rate"] / one["rate"],
            "cores_used": d["extra"]["cpu_percent"] / 100,
            "cpu_ms_per_event": cpu,
            "cpu_vs_one": cpu / base_cpu,
            "redis_cpu_ms_per_event": d["extra"].get("redis_cpu_ms_per_event", 0.0),
            "broker_cpu_ms_per_event": d["extra"].get("broker_cpu_ms_per_event", 0.0),
        }
    worst = max(abs(r["cpu_vs_one"] - 1) for r in rows.values())
    return {"workers": rows, "tolerance": SCALE_TOLERANCE, "within": worst <= SCALE_TOLERANCE}


def _scaling_lines(scale: dict[str, Any] | None) -> list[str]:
    if not scale:
        return []
    lines = ["", "scale-out (same preload, same run; CPU = user + system of the workers):"]
    for n, r in scale["workers"].items():
        lines.append(
            f"  {n} worker{'s' if int(n) > 1 else ' '}: {r['rate']:>8,.0f} ev/s "
            f"({r['speedup']:.2f}x), {r['cores_used']:.2f} cores, "
            f"{r['cpu_ms_per_event']:.3f} ms CPU/event ({r['cpu_vs_one']:.3f} of one worker's); "
            f"Redis {r['redis_cpu_ms_per_event']:.3f}, Kafka broker "
            f"{r['broker_cpu_ms_per_event']:.3f} ms CPU/event"
        )
    verdict = "PASS" if scale["within"] else "FAIL"
    lines.append(
        f"  CPU per event within {100 * scale['tolerance']:.0f} % of one worker's: {verdict}"
    )
    return lines


def _scrape_lines(drains: list[dict[str, Any]]) -> list[str]:
    extra = drains[0].get("extra", {}) if drains else {}
    if "scrape_p50_ms" not in extra:
        return []
    lines = [
        "",
        f"/metrics of worker 1 with {extra['channel_queues']} channel x queue populated: "
        f"{extra['scrape_p50_ms']:,.0f} ms p50, {extra['scrape_max_ms']:,.0f} ms max, "
        f"{extra['scrape_bytes'] / 1e6:.1f} MB, {extra['scrape_series']:,} series, "
        f"{extra.get('series_per_pair', 0):.1f} per pair; "
        f"read-model build {extra['readmodel_build_ms']:.0f} ms",
    ]
    plain = next((d for d in drains if _plain(d) and d["rate"]), None)
    for d in drains:
        x = d.get("extra", {})
        if "drain_scrapes" not in x or not d["rate"]:
            continue
        lines.append(
            f"while draining, scraped every second: {x.get('drain_scrape_p50_ms', 0):,.0f} ms "
            f"p50, {x.get('drain_scrape_max_ms', 0):,.0f} ms max over {x['drain_scrapes']} "
            f"scrapes ({x['drain_scrape_errors']} failed)"
            + (
                f"; drain rate {d['rate'] / plain['rate']:.3f} of the unscraped drain"
                if plain
                else ""
            )
        )
    return lines


def _freshness_lines(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return []
    f0 = runs[0]
    lines = [
        "",
        f"freshness, produce -> visible on /metrics ({f0['channel_queues']} channel x queue, "
        f"{f0['seconds']:.0f}s per rate, ms; 'lower' = previous poll, the method's resolution)",
        _row(
            ["rate ev/s", "p50", "p90", "p99", "max", "p50 lower", "1st/2nd half p50"],
            [12, 9, 9, 9, 9, 11, 20],
        ),
    ]
    for f in runs:
        cells = [
            f"{f['rate']:.0f} ({f['achieved_rate']:.0f})",
            f"{f['p50_ms']:,.0f}",
            f"{f['p90_ms']:,.0f}",
            f"{f['p99_ms']:,.0f}",
            f"{f['max_ms']:,.0f}",
            f"{f['p50_lower_ms']:,.0f}",
            f"{f['p50_first_half_ms']:,.0f}/{f['p50_second_half_ms']:,.0f}",
        ]
        lines.append(_row(cells, [12, 9, 9, 9, 9, 11, 20]))
        lines.append(
            f"    polled every {f['poll_p50_ms']:,.0f} ms (scrape {f['scrape_p50_ms']:,.0f} ms), "
            f"worker CPU {f['cpu_percent']:.0f}% of a core, RSS {f['rss_mb']:.0f} MB, "
            f"unseen {f['unseen']}; commits {f['commit_mean_ms']:,.0f} ms on average; other "
            f"processes {f['foreign_cpu_percent']:.0f}% of a core"
        )
        st = f.get("stages", {})
        if st.get("ingest", {}).get("n"):
            ing = st["ingest"]
            lines.append(
                "    ingest stage (source record -> its repartition batch, Kafka timestamps): "
                f"p50 {ing['p50_ms']:,.0f} ms, p99 {ing['p99_ms']:,.0f} ms"
            )
        lines.extend(f"    {p}" for p in f["problems"][:5])
    return lines


def _wall_lines(w: dict[str, Any] | None) -> list[str]:
    if not w:
        return []
    return [
        "",
        f"wall: produce -> value on the page in Chromium at {w['rate']:.0f} ev/s "
        f"({w['achieved_rate']:.0f} achieved, {w['channel_queues']} channel x queue, "
        f"{w['seconds']:.0f}s): p50 {w['p50_ms']:,.0f} ms, p90 {w['p90_ms']:,.0f} ms, "
        f"p99 {w['p99_ms']:,.0f} ms, max {w['max_ms']:,.0f} ms over {w['measured']:,} events; "
        f"wall server CPU {w['wall_cpu_percent']:.1f}% of a core",
        "    where the time goes (p50 / p99 ms): "
        + ", ".join(
            f"{name} {w['stages_p50_ms'][name]:,.0f} / {w['stages_p99_ms'][name]:,.0f}"
            for name in w.get("stages_p50_ms", {})
        )
        + "".join(
            f"; of the worker, {name} {v['p50_ms']:,.0f} / {v['p99_ms']:,.0f}"
            for name, v in w.get("kafka_stages", {}).items()
        ),
        *(f"    {p}" for p in w["problems"]),
    ]


def _restart_lines(r: dict[str, Any] | None) -> list[str]:
    if not r:
        return []
    loads = r["state_load_seconds_by_partition"].values()
    lines = [
        "",
        f"restart after SIGKILL, state of {r['events']:,} events over 115 min "
        f"({r['channel_queues']:,} channel x queue): owns every partition after "
        f"{r['owns_every_partition_after_seconds']:.1f}s, correct /metrics after "
        f"{r['correct_metrics_after_seconds']:.1f}s; state loads "
        f"{max(loads, default=0):.2f}s at most per partition; Redis "
        f"{r['redis_used_memory_mb']:,.0f} MB in all",
    ]
    return lines + [f"    {p}" for p in r["problems"]]


def _profile_lines(prof: dict[str, Any] | None) -> list[str]:
    if not prof:
        return []
    lines = ["", "worker profile (main thread, % of wall time; inclusive entries overlap):"]
    lines += [f"  {v:5.1f}%  {k}" for k, v in prof["inclusive_percent"].items()]
    lines.append("  self time by package:")
    lines += [f"  {v:5.1f}%  {k}" for k, v in prof["self_percent_by_package"].items()]
    return lines


def table(result: dict[str, Any]) -> str:
    args = result.get("args", {})
    m = result.get("machine", {})
    src = result.get("source", {})
    lines = [
        "",
        f"ccmon benchmark: {args.get('events', 0):,} events, {args.get('queues')} queues x 3 "
        f"channels; {m.get('cores')} cores ({m.get('cpu')}), Python {m.get('python')}, "
        f"Kafka {result.get('services', {}).get('kafka', '?')}",
        f"worker source: {src.get('tree')} at {src.get('commit', '')[:10] or '?'}"
        + (f" + {len(src['uncommitted'])} uncommitted files" if src.get("uncommitted") else ""),
    ]
    if "preload" in result:
        p = result["preload"]
        lines.append(f"preload: {p['events']:,} events in {p['seconds']:.1f}s")
    drains = result.get("drain", [])
    if drains:
        lines += ["", *_drain_table(drains), *_scrape_lines(drains)]
    lines += _scaling_lines(result.get("scaling"))
    lines += _freshness_lines(result.get("freshness", []))
    lines += _restart_lines(result.get("restart"))
    lines += _wall_lines(result.get("wall"))
    lines += _profile_lines(result.get("profile"))
    cost = result.get("costs")
    if cost:
        lines += ["", "per-event steps measured in isolation, microseconds:"]
        lines += [f"  {name:<54}{value:>9.1f}" for name, value in cost["per_event_us"].items()]
    if "error" in result:
        lines += ["", f"ERROR: {result['error']}"]
    verdict = "PASS" if all_verified(result) and "error" not in result else "FAIL"
    lines += ["", f"counts: {verdict}", ""]
    return "\n".join(lines)
