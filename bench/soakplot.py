"""The soak's verdict on memory, its plot (matplotlib, a PNG) and its printed summary."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

Hours = list[dict[str, Any]]


def _daily(hours: Hours, key: str) -> dict[int, float]:
    by_day: dict[int, list[float]] = defaultdict(list)
    for h in hours:
        value = h[key]
        by_day[h["hour"] // 24 + 1].append(sum(value) if isinstance(value, list) else value)
    return {day: mean(values) for day, values in sorted(by_day.items())}


def flatness(hours: Hours, tolerance: float) -> dict[str, Any]:
    """Mean per simulated day of the workers' summed RSS and of Redis ``used_memory``; flat
    when the last day's are within ``tolerance`` of day 2's (day 1 fills the windows: the
    minute buckets, the day's buckets, the guard's retention)."""
    out: dict[str, Any] = {"tolerance": tolerance, "flat": True}
    for name, key in (("workers_rss_mb", "rss_mb"), ("redis_used_mb", "redis_used_mb")):
        daily = _daily(hours, key)
        last = max(daily)
        if 2 not in daily or last < 3:
            out["flat"] = False
            out[name] = {"daily_mean": daily, "verdict": "fewer than 3 simulated days sampled"}
            continue
        change = daily[last] / daily[2] - 1
        ok = abs(change) <= tolerance
        out["flat"] = out["flat"] and ok
        out[name] = {
            "daily_mean": {d: round(v, 1) for d, v in daily.items()},
            "day2": round(daily[2], 1),
            f"day{last}": round(daily[last], 1),
            "change": round(change, 4),
            "flat": ok,
        }
    return out


def draw(hours: Hours, restarts: list[dict[str, Any]], flat: dict[str, Any], path: Path) -> None:
    """Worker RSS (each worker and their sum) and Redis memory per simulated hour, with the
    rolling restarts marked and day 2 and the last day shaded. matplotlib is the `bench`
    extra's: imported here, so that the verdict and the summary need only the standard
    library."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    x = [h["hour"] + 1 for h in hours]
    workers = len(hours[0]["rss_mb"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    for i in range(workers):
        top.plot(x, [h["rss_mb"][i] for h in hours], lw=1, label=f"worker {i + 1}")
    top.plot(x, [sum(h["rss_mb"]) for h in hours], lw=2, color="black", label="both")
    top.set_ylabel("worker RSS (MB)")
    bottom.plot(x, [h["redis_used_mb"] for h in hours], lw=2, color="tab:red", label="used_memory")
    bottom.plot(x, [h["redis_rss_mb"] for h in hours], lw=1, color="tab:orange", label="RSS")
    bottom.set_ylabel("Redis (MB)")
    bottom.set_xlabel("simulated hour (a rolling restart of both workers each day: dotted)")
    last_day = (x[-1] - 1) // 24 + 1
    for ax in (top, bottom):
        for hour in sorted({r["hour"] for r in restarts}):
            ax.axvline(hour + 1, color="grey", ls=":", lw=0.8)
        for day in (2, last_day):
            ax.axvspan((day - 1) * 24 + 0.5, day * 24 + 0.5, color="tab:green", alpha=0.08)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    rss, redis = flat.get("workers_rss_mb", {}), flat.get("redis_used_mb", {})
    verdict = "flat" if flat.get("flat") else "NOT flat"
    fig.suptitle(
        f"ccmon soak: {last_day} simulated days, worker RSS {_change(rss)} and Redis "
        f"{_change(redis)} from day 2 to day {last_day} (shaded): {verdict}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _change(entry: dict[str, Any]) -> str:
    change = entry.get("change")
    return "?" if change is None else f"{100 * change:+.1f} %"


def summary(result: dict[str, Any]) -> str:
    flat = result.get("flat", {})
    lines = [
        f"soak: {result['events']:,} events (+{result['resends']:,} re-sends) in "
        f"{result['seconds'] / 60:.1f} min, {len(result['restarts'])} worker restarts",
        "counts: " + ("EXACT" if not result["problems"] else "FAIL"),
        *(f"  {p}" for p in result["problems"][:20]),
    ]
    for name in ("workers_rss_mb", "redis_used_mb"):
        entry = flat.get(name, {})
        daily = entry.get("daily_mean", {})
        lines.append(
            f"{name}: daily means {', '.join(f'd{d} {v:,.0f}' for d, v in daily.items())}; "
            f"last day vs day 2 {_change(entry)} ({'ok' if entry.get('flat') else 'FAIL'})"
        )
    hours = result["hours"]
    if len(hours) > 1 and hours[-1]["counted"] > hours[0]["counted"]:
        events = hours[-1]["counted"] - hours[0]["counted"]
        seconds = hours[-1]["elapsed_s"] - hours[0]["elapsed_s"]
        redis_cpu = hours[-1]["redis_cpu_s"] - hours[0]["redis_cpu_s"]
        lines.append(
            f"after the first hour: {events / max(seconds, 1e-9):,.0f} ev/s, Redis "
            f"{1000 * redis_cpu / events:.3f} ms CPU per event"
        )
    if result["restarts"]:
        back = [r["back_owning_s"] for r in result["restarts"]]
        loads = sorted(result.get("state_loads_s") or [0.0])
        lines.append(
            f"restarts: back owning partitions in {min(back):.1f}-{max(back):.1f} s; "
            f"{len(loads)} partition state loads, median {loads[len(loads) // 2]:.2f} s, "
            f"max {loads[-1]:.2f} s"
        )
    return "\n".join(lines)
