"""Writes the golden event files once (their output is committed; rerun only on purpose).

python tests/integration/data/make_golden.py

Edge cases on purpose: local midnight in Paris crossed, out-of-order outcomes (answered
before offered), waits left out (derived from the offer), exact duplicates and retries with
another payload, short abandons, all blocked reasons, chats' first responses, surveys,
tickets reopened, contacts still waiting, and a late phase older than bucket retention.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
START = datetime.fromisoformat("2026-03-10T23:10:00+01:00")  # Paris; midnight at +50 min
SPAN = timedelta(minutes=100)
REASONS = ["trunks_busy", "queue_full", "no_agents", "closed", "network_failure", "other"]


def stamp(t: datetime, rng: random.Random) -> str | int:
    # Both accepted timestamp forms, and offsets other than the queue's own zone.
    if rng.random() < 0.5:
        return int(t.timestamp() * 1000)
    return t.astimezone().isoformat(timespec="milliseconds")


def main() -> None:
    rng = random.Random(345)
    n = 0
    phase1: list[tuple[datetime, str, dict[str, object]]] = []

    def ev(channel: str, t: datetime, **fields: object) -> dict[str, object]:
        nonlocal n
        n += 1
        body = {"event_id": f"g{n}", "occurred_at": stamp(t, rng), **fields}
        phase1.append((t, channel, body))
        return body

    def of(channel: str, queue: str, contact: str, t: datetime, kind: str, **more: object) -> None:
        ev(channel, t, type=kind, queue=queue, contact_id=contact, **more)

    for i in range(160):
        channel = "call" if i % 3 else "chat"
        queue = rng.choice(["sales", "billing", "care"])
        t0 = START + timedelta(seconds=rng.uniform(0, SPAN.total_seconds() - 700))
        contact = f"{channel[:2]}{i}"
        roll = rng.random()
        if roll < 0.08:
            of(channel, queue, contact, t0, "blocked", reason=REASONS[i % len(REASONS)])
            continue
        of(channel, queue, contact, t0, "offered")
        if roll < 0.14:
            continue  # still waiting at the end
        wait = round(rng.expovariate(1 / 40), 3)
        t1 = t0 + timedelta(seconds=wait)
        if roll < 0.30:
            of(channel, queue, contact, t1, "abandoned", wait_seconds=wait)
            continue
        known = {"wait_seconds": wait} if rng.random() < 0.8 else {}
        of(channel, queue, contact, t1, "answered", **known)
        if channel == "chat":
            of(channel, queue, contact, t1 + timedelta(seconds=12), "first_response")
        talk = round(rng.uniform(60, 400), 1)
        of(
            channel, queue, contact, t1 + timedelta(seconds=talk + 30), "ended",
            talk_seconds=talk, hold_seconds=10, wrap_seconds=20,
            resolved_first_contact=rng.random() < 0.7,
        )  # fmt: skip
        if rng.random() < 0.3:
            of(
                channel, queue, contact, t1 + timedelta(seconds=talk + 90), "survey",
                csat=rng.randint(1, 5), nps=rng.randint(0, 10), ces=rng.randint(1, 7),
            )  # fmt: skip

    for i in range(30):
        queue = rng.choice(["billing", "care"])
        t0 = START + timedelta(seconds=rng.uniform(0, 3000))
        of("ticket", queue, f"T{i}", t0, "created", priority="normal")
        if i % 3:
            of("ticket", queue, f"T{i}", t0 + timedelta(minutes=10), "first_response")
        if i % 2:
            resolved = t0 + timedelta(minutes=40)
            of("ticket", queue, f"T{i}", resolved, "resolved", resolved_first_contact=i % 4 == 1)
            if i % 5 == 1:
                of("ticket", queue, f"T{i}", t0 + timedelta(minutes=45), "reopened")

    phase1.sort(key=lambda item: item[0])
    # Out of order: move a few outcomes in front of their own offers.
    for idx in range(len(phase1) - 1, 0, -1):
        t, channel, body = phase1[idx]
        if body["type"] == "answered" and "wait_seconds" in body and rng.random() < 0.15:
            for j in range(idx - 1, -1, -1):
                if phase1[j][2].get("contact_id") == body["contact_id"]:
                    phase1.insert(j, phase1.pop(idx))
                    break
    # Duplicates: exact copies and retries with the same id but another payload.
    for _ in range(12):
        idx = rng.randrange(len(phase1))
        t, channel, body = phase1[idx]
        copy = dict(body)
        if rng.random() < 0.5:
            copy["agent_id"] = "retry"
        phase1.insert(min(len(phase1), idx + rng.randint(1, 20)), (t, channel, copy))

    end = START + SPAN
    late = [
        (
            "call",
            {
                "event_id": "late1",
                "type": "offered",
                "queue": "billing",
                "contact_id": "L1",
                "occurred_at": stamp(end - timedelta(minutes=150), rng),
            },
        ),
        (
            "call",
            {
                "event_id": "late2",
                "type": "abandoned",
                "queue": "care",
                "contact_id": "L2",
                "wait_seconds": 3,
                "occurred_at": stamp(end - timedelta(minutes=155), rng),
            },
        ),
        (
            "ticket",
            {
                "event_id": "late3",
                "type": "created",
                "queue": "care",
                "contact_id": "L3",
                "occurred_at": stamp(end - timedelta(minutes=170), rng),
            },
        ),
    ]
    # The last event fixes the stream clock at the end of the span.
    phase1.append(
        (
            end,
            "call",
            {
                "event_id": "last",
                "type": "offered",
                "queue": "sales",
                "contact_id": "END",
                "occurred_at": stamp(end, rng),
            },
        )
    )
    with (HERE / "golden-phase1.jsonl").open("w") as f:
        for _, channel, body in phase1:
            f.write(json.dumps({"channel": channel, "event": body}) + "\n")
    with (HERE / "golden-phase2.jsonl").open("w") as f:
        for channel, body in late:
            f.write(json.dumps({"channel": channel, "event": body}) + "\n")


if __name__ == "__main__":
    main()
