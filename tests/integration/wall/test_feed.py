"""The wall's feed against the read model, on a real worker, real Kafka and real Redis:
the tiles carry the documents' numbers and no id, the event stream speaks every second,
and a stopped worker's queues turn delayed (and come back) by the read model's TTL."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import orjson
import redis

from ccmon.agents.devkit.wallproc import WallProcess
from ccmon.streams.store import livemodel
from tests.support.expect import poll, sample, wait_until_equal
from tests.support.kafka_io import produce
from tests.support.topology import Topology
from tests.support.wall import designed_state, designed_worker_and_wall, secrets_in

TTL = 3  # CCMON_SNAPSHOT_TTL_SECONDS: the wall's "delayed after" is then 3 s too


def state(wall: WallProcess, query: str = "") -> dict[str, Any]:
    with urlopen(f"{wall.url}/api/state{query}", timeout=5) as r:
        return dict(json.loads(r.read()))


def sse_messages(wall: WallProcess, count: int, query: str = "") -> list[tuple[float, bytes]]:
    """(arrival time, data) of the first ``count`` messages of /feed."""
    where = urlsplit(wall.url)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    conn.request("GET", f"/feed{query}", headers={"Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    out: list[tuple[float, bytes]] = []
    try:
        while len(out) < count:
            line = response.readline()
            assert line, "the stream ended"
            if line.startswith(b"data: "):
                out.append((time.monotonic(), line[6:].strip()))
    finally:
        conn.close()
    return out


def test_feed_follows_the_read_model_without_ids_and_honours_its_ttl(
    topology: Topology, unique_name: str, tmp_path: Path
) -> None:
    topics = topology.create_topics(partitions=2)
    topology.settings = {"CCMON_SNAPSHOT_TTL_SECONDS": str(TTL)}
    worker, wall = designed_worker_and_wall(topology, tmp_path, CCMON_SNAPSHOT_TTL_SECONDS=str(TTL))
    client = redis.Redis.from_url(topology.redis)
    try:
        events = designed_state(topics, unique_name)
        produce(topology.kafka, events.records)
        offered = {
            ("call", "sales"): 31, ("call", "support"): 41, ("chat", "billing"): 49
        }  # fmt: skip
        counted = {
            sample("ccmon_contacts_offered_total", channel=c, queue=q): n
            for (c, q), n in offered.items()
        }
        wait_until_equal(worker.samples, counted)

        # The tiles hold the numbers of the documents of the same publication.
        def consistent() -> dict[str, Any] | None:
            got = state(wall)
            docs = {}
            for t in got["tiles"]:
                raw = client.get(livemodel.doc_key(unique_name, t["channel"], t["queue"]))
                docs[t["id"]] = orjson.loads(raw) if raw else None
            if len(docs) != 5 or any(
                d is None or d["published_at"] != got_t["published_at"]
                for got_t in got["tiles"]
                for d in [docs[got_t["id"]]]
            ):
                return None
            return {"state": got, "docs": docs}

        both = poll("a state whose tiles match the Redis documents", consistent, 10, interval=0.1)
        tiles = {t["id"]: t for t in both["state"]["tiles"]}
        for tid, doc in both["docs"].items():
            m = tiles[tid]["metrics"]
            assert tiles[tid]["live"] is True
            if tid.startswith("ticket:"):
                assert m["backlog"]["value"] == doc["tickets_open"]
                assert m["overdue"]["value"] == doc["tickets_overdue"]
                assert m["oldest_open"]["value"] == doc["oldest_open_ticket_seconds"]
                continue
            assert m["offered_today"]["value"] == doc["windows"]["today"]["offered"]
            assert m["sl_30m"]["value"] == doc["windows"]["30m"]["service_level"]
            assert m["waiting"]["value"] == doc["waiting"]
            assert m["oldest_waiting"]["value"] == doc["oldest_waiting_seconds"]
            assert m["abandon_30m"]["value"] == doc["windows"]["30m"]["abandon"]
        assert tiles["call:sales"]["state"] == "ok"
        assert tiles["chat:billing"]["metrics"]["sl_30m"]["state"] == "warn"
        assert tiles["call:support"]["metrics"]["sl_30m"]["state"] == "alarm"
        assert tiles["call:support"]["metrics"]["oldest_waiting"]["state"] == "alarm"
        assert tiles["ticket:support"]["metrics"]["overdue"]["state"] == "alarm"
        assert tiles["ticket:billing"]["state"] == "ok"
        assert both["state"]["worst"] == {"id": "call:support", "metric": "sl_30m"}
        assert [t["id"] for t in state(wall, "?queue=support,sales&channel=call")["tiles"]] == [
            "call:support",
            "call:sales",
        ]

        # No contact or agent id anywhere on the way to a screen.
        documents = b"".join(client.get(k) or b"" for k in client.keys(f"{unique_name}:live:*"))
        assert secrets_in(documents.decode()) == []
        messages = sse_messages(wall, 3)
        assert secrets_in(b"".join(m for _, m in messages).decode()) == []
        assert secrets_in(json.dumps(state(wall))) == []
        # At least one message a second, changed or not.
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(messages)]
        assert max(gaps) < 1.5, gaps

        # The worker stops: documents expire with their TTL, the tiles turn delayed and keep
        # the time of their last publication; nothing is shown as live.
        last_published = max(t["published_at"] for t in state(wall)["tiles"])
        worker.stop()
        stopped = time.monotonic()
        delayed = poll(
            "every tile delayed",
            lambda: (s := state(wall))["tiles"] and not any(t["live"] for t in s["tiles"]) and s,
            TTL + 3,
            interval=0.1,
        )
        assert time.monotonic() - stopped <= TTL + 2
        assert {t["id"] for t in delayed["tiles"]} == set(tiles), "queues stay on the screen"
        assert all(t["published_at"] <= last_published + 1.5 for t in delayed["tiles"])
        poll(
            "the documents expired",
            lambda: not client.keys(f"{unique_name}:live:*"),
            TTL + 2,
            interval=0.1,
        )
        index = client.zrange(livemodel.index_key(unique_name), 0, -1)
        assert len(index) == 5, "the index remembers the queues for the delayed tiles"

        # A new worker publishes again: live, same numbers, no reload of anything.
        worker = topology.worker("w2").start(all_partitions=True)
        back = poll(
            "every tile live again",
            lambda: (s := state(wall))["tiles"] and all(t["live"] for t in s["tiles"]) and s,
            60,
            interval=0.1,
        )
        again = {t["id"]: t for t in back["tiles"]}
        for (c, q), n in offered.items():
            assert again[f"{c}:{q}"]["metrics"]["offered_today"]["value"] == n
    finally:
        wall.stop()
        worker.stop()
