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


def flatness(hours: Hours, tolerance: float, baseline: int = 2) -> dict[str, Any]:
    """Mean per simulated day of the workers' summed RSS and of Redis ``used_memory``; flat
    when the last day's are within ``tolerance`` of the ``baseline`` day's (issue 22: day 2,
    once day 1 has filled the minute buckets and the guard's day; state kept longer, the
    daily buckets and the closed intervals' revisions, fills for as many days)."""
    out: dict[str, Any] = {"tolerance": tolerance, "baseline_day": baseline, "flat": True}
    for name, key in (("workers_rss_mb", "rss_mb"), ("redis_used_mb", "redis_used_mb")):
        daily = _daily(hours, key)
        last = max(daily)
        if baseline not in daily or last <= baseline:
            out["flat"] = False
            out[name] = {"daily_mean": daily, "verdict": f"no day after day {baseline} sampled"}
            continue
        change = daily[last] / daily[baseline] - 1
        ok = abs(change) <= tolerance
        out["flat"] = out["flat"] and ok
        out[name] = {
            "daily_mean": {d: round(v, 1) for d, v in daily.items()},
            "baseline": round(daily[baseline], 1),
            "last": round(daily[last], 1),
            "change": round(change, 4),
            "flat": ok,
        }
    return out


def draw(
    hours: Hours,
    restarts: list[dict[str, Any]],
    days: list[dict[str, Any]],
    flat: dict[str, Any],
    path: Path,
) -> None:
    """Worker RSS (each worker and their sum) and Redis memory per simulated hour, with the
    rolling restarts marked and the baseline and last days shaded; Redis's bytes by key
    class at the end of each day. matplotlib is the `bench`
    extra's: imported here, so that the verdict and the summary need only the standard
    library."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    x = [h["hour"] + 1 for h in hours]
    workers = len(hours[0]["rss_mb"])
    fig, (top, bottom, classes) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    for i in range(workers):
        top.plot(x, [h["rss_mb"][i] for h in hours], lw=1, label=f"worker {i + 1}")
    top.plot(x, [sum(h["rss_mb"]) for h in hours], lw=2, color="black", label="both")
    top.set_ylabel("worker RSS (MB)")
    bottom.plot(x, [h["redis_used_mb"] for h in hours], lw=2, color="tab:red", label="used_memory")
    bottom.plot(x, [h["redis_rss_mb"] for h in hours], lw=1, color="tab:orange", label="RSS")
    bottom.set_ylabel("Redis (MB)")
    names = sorted(
        {n for d in days for n in d["classes"]},
        key=lambda n: -max(d["classes"].get(n, {}).get("bytes", 0) for d in days),
    )
    for n in names[:6]:
        sizes = [d["classes"].get(n, {}).get("bytes", 0) / 2**20 for d in days]
        classes.plot([24 * d["day"] for d in days], sizes, marker="o", lw=1, label=n)
    classes.set_ylabel("Redis by key class (MB)")
    classes.set_xlabel("simulated hour (a rolling restart of both workers each day: dotted)")
    last_day = (x[-1] - 1) // 24 + 1
    baseline = int(flat.get("baseline_day", 2))
    for ax in (top, bottom, classes):
        for hour in sorted({r["hour"] for r in restarts}):
            ax.axvline(hour + 1, color="grey", ls=":", lw=0.8)
        for day in (baseline, last_day):
            ax.axvspan((day - 1) * 24 + 0.5, day * 24 + 0.5, color="tab:green", alpha=0.08)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    rss, redis = flat.get("workers_rss_mb", {}), flat.get("redis_used_mb", {})
    verdict = "flat" if flat.get("flat") else "NOT flat"
    fig.suptitle(
        f"ccmon soak: {last_day} simulated days, worker RSS {_change(rss)} and Redis "
        f"{_change(redis)} from day {baseline} to day {last_day} (shaded): {verdict}",
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
            f"last day vs day {flat.get('baseline_day')} {_change(entry)} "
            f"({'ok' if entry.get('flat') else 'FAIL'})"
        )
    days = result.get("days") or []
    if days:
        names = sorted(days[-1]["classes"], key=lambda n: -days[-1]["classes"][n]["bytes"])
        lines.append("Redis by key class at the end of each day, MB:")
        for n in names[:8]:
            sizes = [d["classes"].get(n, {}).get("bytes", 0) / 2**20 for d in days]
            lines.append(f"  {n:<24}" + "".join(f"{v:>9,.1f}" for v in sizes))
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
