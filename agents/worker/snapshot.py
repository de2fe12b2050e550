"""The wallboard read model in Redis: one JSON document per channel x queue, refreshed every
second with a short TTL, so a queue that moved to another worker leaves no stale copy.

Key: ``{prefix}:live:{channel}:{queue}``, plus an index of the queues and a notification
after each publication (:mod:`ccmon.streams.store.livemodel`). Readers (the wall server, chat-ops
bots) GET the documents; docs/metrics.md documents the fields. No contact or agent id is
ever part of a document.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import faust
import orjson
from redis.exceptions import RedisClusterException, RedisError

from ccmon.agents.domain import buckets as b
from ccmon.agents.domain.servicelevel import queue_parts, ratio
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.metrics.staffing import occupancy, wait_estimate
from ccmon.agents.readmodel.agentboard import board_documents
from ccmon.agents.readmodel.source import ReadModelSource, Slicer
from ccmon.agents.readmodel.views import QueueView, ReadModel
from ccmon.agents.worker.catchup import full_publication_seconds
from ccmon.agents.worker.loopcost import LoopCost
from ccmon.agents.worker.runtime import Runtime
from ccmon.streams import thresholds
from ccmon.streams.config import QueuePolicy
from ccmon.streams.store import livemodel
from ccmon.streams.store.connect import RedisClient

log = logging.getLogger(__name__)


def window_documents(view: QueueView) -> dict[str, dict[str, Any]]:
    policy = view.policy
    out: dict[str, dict[str, Any]] = {}
    for name in b.WINDOWS:
        counters = view.windows.get(name, {})
        out[name] = b.kpis(counters, queue_parts(counters, policy)) | {
            "offered": counters.get(b.OFFERED, 0.0)
        }
        if view.channel != "ticket" and len(policy.profiles) > 1:
            out[name]["service_level_by_profile"] = {
                p: ratio(*queue_parts(counters, policy, p)) for p in policy.profiles
            }
        if view.channel == "ticket":  # a ticket tile shows the day's flow, not "offered"
            out[name]["created"] = counters.get(b.T_CREATED, 0.0)
            out[name]["resolved"] = counters.get(b.T_RESOLVED, 0.0)
        else:  # contacts handled to their end (talk, hold, wrap known): AHT's denominator
            out[name]["handled"] = counters.get(b.ENDED, 0.0)
    return out


def _age(now: float, since: float | None) -> float | None:
    return None if since is None else now - since


def document(
    view: QueueView,
    now: float,
    windows: dict[str, dict[str, Any]] | None = None,
    published_at: float | None = None,
) -> dict[str, object]:
    """``now`` is the worker's clock (wall or stream); ``published_at`` the wall clock of the
    publication, what readers compare with their own clock to tell live from delayed."""
    p = view.policy
    if windows is None:
        windows = window_documents(view)
    return {
        "channel": view.channel,
        "queue": view.queue,
        "at": now,
        "published_at": now if published_at is None else published_at,
        "timezone": p.timezone,
        "waiting": view.waiting,
        "oldest_waiting_seconds": _age(now, view.oldest_waiting_since),
        "callbacks_waiting": view.callbacks_waiting,
        "tickets_open": view.tickets_open,
        "tickets_overdue": view.tickets_overdue,
        "tickets_at_risk": dict(view.tickets_at_risk),
        "open": view.is_open,
        "calendar": p.calendar,
        "month": None
        if view.month_days is None
        else {"days_open": view.month_days[0], "days_met": view.month_days[1]},
        "oldest_open_ticket_seconds": _age(now, view.oldest_open_ticket_since),
        "target": {
            "service_level": p.target_ratio,
            "threshold_seconds": p.threshold_seconds,
            "comparison": p.comparison,
            "profile": p.profile,
            "first_response_seconds": p.first_response_target_seconds,
            "next_reply_seconds": p.next_reply_target_seconds,
            "resolution_seconds": p.resolution_target_seconds,
        },
        "limits": {
            "abandon_ratio": p.abandon_ratio,
            "blocking_ratio": p.blocking_ratio,
            "waiting_contacts": p.waiting_contacts,
            "min_volume": p.min_volume,
        },
        "thresholds": thresholds_document(p),
        "windows": windows,
        "agents": agents_document(view),
    }


@functools.lru_cache(maxsize=4096)
def thresholds_document(policy: QueuePolicy) -> dict[str, dict[str, float | bool]]:
    """The threshold model's levels per KPI (ccmon.streams.thresholds), what the wall's
    states are decided by; one per distinct policy, shared by every document."""
    return {kpi: level.as_dict() for kpi, level in thresholds.levels(policy).items()}


def agents_document(view: QueueView) -> dict[str, object]:
    """Agents per state and the forecast: what the wall page's agent tiles read."""
    fc = view.forecast
    return {
        "staffed": view.staffed,
        "available": view.agents.get("available", 0),
        "on_contact": view.agents.get("on_contact", 0),
        "after_contact_work": view.agents.get("after_contact_work", 0),
        "not_ready": dict(sorted(view.not_ready.items())),
        # Slots (docs/metrics.md, "Concurrency"); ``concurrent``: agents serve several at once.
        "slots": view.slots,
        "slots_busy": view.slots_busy,
        "concurrent": view.concurrent_slots is not None,
        "estimated_wait_seconds": wait_estimate(view),
        "occupancy": {w: occupancy(view.windows.get(w, {})) for w in b.WINDOWS},
        "forecast": None
        if fc is None
        else {
            "model": fc.model,
            "service_level_predicted": fc.predicted,
            "required": fc.required,
            "shortfall": fc.shortfall,
            "offered_load_erlangs": fc.inputs.traffic,
            "handle_time_seconds": fc.inputs.aht,
            "patience_seconds": fc.inputs.patience,
            "arrival_rate": fc.inputs.arrival_rate,
            "servers": fc.inputs.servers,
        },
    }


PIPELINE_CHUNK = 250
# How often the publisher asks whether a queue changed: a sum of counters per partition.
CHECK_SECONDS = 0.02
# Between the full publications, what changed is published as soon as it changed, but at
# most every MIN_GAP_SECONDS and as often as keeps them within this share of the event loop:
# a wall of 60 queues gets them every 0.05-0.1 s; a worker draining 1,500 busy queues,
# whose changes cost ~0.2 s to publish, only the full publication each second.
MIN_GAP_SECONDS = 0.05
CHANGES_SHARE = 0.05


class Publisher:
    """Writes every owned queue's document each second (their TTL proves they are live) and,
    in between, those of the queues that changed; the windows part is recomputed only for
    queues whose view changed."""

    def __init__(self, redis: RedisClient, prefix: str, ttl: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self._windows: dict[tuple[str, str], tuple[QueueView, Any]] = {}

    def changed(self, model: ReadModel) -> list[tuple[str, str]]:
        """Queues whose view is not the one last published (a view is rebuilt, a new
        object, exactly when its queue's state changed or its minute turned)."""
        known = self._windows
        return [
            k for k, view in model.queues.items() if (c := known.get(k)) is None or c[0] is not view
        ]

    async def publish(self, model: ReadModel, only: list[tuple[str, str]] | None = None) -> int:
        """Every queue's document, or ``only`` those; returns how many were written."""
        keys = list(model.queues) if only is None else only
        if not keys:
            return 0
        fresh = dict(self._windows) if only is not None else {}
        # 1,500 changed views cost ~0.2 s of KPI documents: built in slices, so a scrape or
        # a counting step is not kept waiting behind them.
        slicer = Slicer()
        published_at = time.time()
        index = livemodel.index_key(self.prefix)
        members = [livemodel.member(channel, queue) for channel, queue in keys]
        try:
            pipe = self.redis.pipeline(transaction=False)
            for n, key in enumerate(keys, 1):
                view = model.queues[key]
                cached = self._windows.get(key)
                windows = cached[1] if cached and cached[0] is view else None
                if windows is None:
                    windows = window_documents(view)
                fresh[key] = (view, windows)
                pipe.set(
                    livemodel.doc_key(self.prefix, *key),
                    orjson.dumps(document(view, model.now, windows, published_at)),
                    ex=self.ttl,
                )
                if n % PIPELINE_CHUNK == 0:  # packing 1,500 commands at once is ~0.1 s
                    await pipe.execute()
                await slicer.pause()
            pipe.zadd(index, dict.fromkeys(members, published_at))
            horizon = published_at - livemodel.INDEX_HORIZON_SECONDS
            pipe.zremrangebyscore(index, "-inf", horizon)
            pipe.expire(index, livemodel.INDEX_HORIZON_SECONDS)
            await pipe.execute()
            # Once every document is written, so a reader told by the notification finds
            # them; not in the pipeline: a cluster's pipeline sends each node its part
            # and refuses PUBLISH (it has no key, hence no node), which goes to any node.
            await self.redis.publish(livemodel.notify_channel(self.prefix), orjson.dumps(members))
        except (RedisError, RedisClusterException, OSError) as exc:
            # The wallboard is stale for a second; counting goes on.
            log.warning("snapshot not published: %s", exc)
        if only is None:
            self._windows = fresh
        else:  # queues no longer owned leave with the next full publication
            self._windows.update((k, fresh[k]) for k in keys)
        return len(keys)


async def publish_agents(
    redis: RedisClient, prefix: str, ttl: int, states: Mapping[int, PartitionState]
) -> None:
    """The agent board's rows of each owned partition (CCMON_AGENT_BOARD), with the TTL of
    the documents, and the index the wall finds them by."""
    if not states:
        return
    published_at = time.time()
    index = livemodel.agents_index_key(prefix)
    try:
        pipe = redis.pipeline(transaction=False)
        for partition, rows in board_documents(states).items():
            body = {"partition": partition, "published_at": published_at, "agents": rows}
            pipe.set(livemodel.agents_key(prefix, partition), orjson.dumps(body), ex=ttl)
        pipe.zadd(index, {str(p): published_at for p in states})
        pipe.zremrangebyscore(index, "-inf", published_at - livemodel.INDEX_HORIZON_SECONDS)
        pipe.expire(index, livemodel.INDEX_HORIZON_SECONDS)
        await pipe.execute()
    except (RedisError, RedisClusterException, OSError) as exc:
        log.warning("agent board not published: %s", exc)


def state_signature(source: ReadModelSource) -> tuple[int, ...]:
    """Changes whenever a queue of an owned partition changes (every change bumps its
    version) or partitions move: ~10 us for 1,500 queues, so it can be asked often."""
    states = source.states()
    return (source.generation(), *(sum(s.versions.values()) for s in states.values()))


def register_publisher(
    app: faust.App,
    runtime: Runtime,
    source: ReadModelSource,
    built: Callable[[ReadModel], None] = lambda model: None,
    catching_up: Callable[[], bool] = lambda: False,
) -> None:
    """``built`` is told of every model the publisher builds (the /metrics body reuses it);
    while ``catching_up`` (:mod:`ccmon.agents.worker.catchup`), only the full publications
    are made, and less often."""
    settings = runtime.settings
    interval = settings.snapshot_interval_seconds
    publisher = Publisher(runtime.redis, settings.redis_prefix, settings.snapshot_ttl_seconds)

    async def publish(full: bool) -> None:
        """Publish a model read after now: every queue, or those whose view changed."""
        asked = time.monotonic()
        model = await source.refresh()
        if model.read_at < asked:  # the build under way began before the change we saw
            model = await source.refresh()
        built(model)
        runtime.pipeline.readmodel_seconds.set(model.built_in_seconds)
        await publisher.publish(model, None if full else publisher.changed(model))
        if full and settings.agent_board:
            await publish_agents(
                runtime.redis, settings.redis_prefix, settings.snapshot_ttl_seconds, source.states()
            )

    @app.task
    async def publish_snapshot() -> None:
        """A full publication every ``interval``; in between, what changed, coalesced."""
        next_full = time.monotonic()
        next_changes = 0.0
        seen: tuple[int, ...] = ()
        while True:
            now = time.monotonic()
            if now >= next_full:
                ttl = settings.snapshot_ttl_seconds
                next_full = now + full_publication_seconds(interval, ttl, catching_up())
                seen = state_signature(source)
                await publish(full=True)
            elif (
                now >= next_changes
                and not catching_up()
                and (signature := state_signature(source)) != seen
            ):
                seen = signature
                # Its cost is the loop's own work in CPU time (the build's and the
                # publication's steps), never the wall clock: that also counts the counting
                # steps the loop ran while Redis answered and the time other processes held
                # the core, and spaced the changes by the load rather than by their cost
                # (up to 2 s on a loaded machine, docs/benchmarks.md, "Wall").
                cost = LoopCost(publish(full=False))
                await cost
                worked = source.build_cpu_seconds + cost.seconds
                next_changes = time.monotonic() + max(MIN_GAP_SECONDS, worked / CHANGES_SHARE)
            await asyncio.sleep(CHECK_SECONDS)
