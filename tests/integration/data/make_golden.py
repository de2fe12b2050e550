"""Writes the golden event files once (their output is committed; rerun only on purpose).

python tests/integration/data/make_golden.py          # phases 1 and 2
python tests/integration/data/make_golden.py exits    # golden-exits.jsonl

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


def exits() -> None:
    """golden-exits.jsonl: the other queue exits over the same span, sent after phase 1's
    events (a contact's own events in time order): callbacks placed in time, late, twice or
    never; flow-outs to a queue (answered there, or still waiting), to an unknown queue, to
    voicemail and another site; transfers after the answer; abandons on hold; a second exit
    of one visit; exits of contacts never offered. Written apart so that phase 1 stays as
    it was."""
    rng = random.Random(2545)
    n = 0
    out: list[tuple[datetime, str, dict[str, object]]] = []

    def of(channel: str, queue: str, contact: str, t: datetime, kind: str, **more: object) -> None:
        nonlocal n
        n += 1
        body = {"event_id": f"x{n}", "occurred_at": stamp(t, rng), "type": kind}
        out.append((t, channel, {**body, "queue": queue, "contact_id": contact, **more}))

    queues = ["sales", "billing", "care"]
    for i in range(90):
        channel = "call" if i % 4 else "chat"
        queue = rng.choice(queues)
        other = rng.choice([q for q in queues if q != queue])
        contact = f"x{channel[:2]}{i}"
        t0 = START + timedelta(seconds=rng.uniform(0, SPAN.total_seconds() - 900))
        wait = round(rng.expovariate(1 / 35), 3) + 0.001
        t1 = t0 + timedelta(seconds=wait)
        kind = i % 9
        if kind == 8:  # an exit of a contact never offered
            of(channel, queue, contact, t1, rng.choice(["abandoned", "callback_requested"]))
            continue
        of(channel, queue, contact, t0, "offered")
        known = {"wait_seconds": wait} if rng.random() < 0.7 else {}
        if kind in (0, 1):  # a callback, placed in its window, after it, twice or never
            window = rng.choice([None, 300, 900])
            promise = {} if window is None else {"callback_within_seconds": window}
            of(channel, queue, contact, t1, "callback_requested", **known, **promise)
            fate = rng.random()
            if fate < 0.8:
                placed = t1 + timedelta(seconds=rng.uniform(30, 1200))
                of(channel, queue, contact, placed, "callback_placed")
                if fate < 0.1:
                    of(channel, queue, contact, placed + timedelta(seconds=5), "callback_placed")
        elif kind in (2, 3):  # a flow-out
            where = rng.choice(["queue", "queue", "queue", "voicemail", "site", "unknown"])
            target = {"target_queue": other if where == "queue" else "overflow-desk"}
            destination = "queue" if where in ("queue", "unknown") else where
            more = target if destination == "queue" else {}
            of(channel, queue, contact, t1, "flowed_out", destination=destination, **known, **more)
            if where == "queue" and rng.random() < 0.8:  # answered there, its wait given
                there = round(rng.uniform(1, 60), 3)
                t2 = t1 + timedelta(seconds=there)
                of(channel, other, contact, t2, "answered", wait_seconds=there)
                of(channel, other, contact, t2 + timedelta(seconds=90), "ended", talk_seconds=80)
        else:  # answered, then a transfer, an abandon on hold or a second exit
            of(channel, queue, contact, t1, "answered", **known)
            t2 = t1 + timedelta(seconds=rng.uniform(20, 200))
            if kind in (4, 5):
                target = other if kind == 4 else "overflow-desk"
                of(channel, queue, contact, t2, "transferred", target_queue=target)
                if kind == 4 and rng.random() < 0.7:
                    there = round(rng.uniform(1, 60), 3)
                    t3 = t2 + timedelta(seconds=there)
                    of(channel, other, contact, t3, "answered", wait_seconds=there)
                if rng.random() < 0.2:  # the same transfer sent twice, another id
                    of(channel, queue, contact, t2, "transferred", target_queue=target)
            elif kind == 6:
                of(channel, queue, contact, t2, "abandoned_on_hold", hold_seconds=30)
                of(channel, queue, contact, t2, "ended", talk_seconds=40, hold_seconds=30)
            else:
                of(channel, queue, contact, t2, "abandoned", wait_seconds=3)  # a repeat
    out.sort(key=lambda item: item[0])
    with (HERE / "golden-exits.jsonl").open("w") as f:
        for _, channel, body in out:
            f.write(json.dumps({"channel": channel, "event": body}) + "\n")


if __name__ == "__main__":
    import sys

    exits() if sys.argv[1:] == ["exits"] else main()
