"""Malformed payloads at volume for the poison-input fault test: every one must be rejected
by the contract (docs/events.md), whatever its shape. A seeded generator of our own rather
than hypothesis: the test needs a fixed number (10,000) of records whose every kind is
present in known proportions, produced in seconds, not a search for a counterexample
(tests/unit/streams/contract/test_events_hypothesis.py does that, without Kafka).

Contact and agent ids inside the payloads carry the personal-data marker, so the suite's
scan proves rejections do not leak them into logs or /metrics either.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import orjson

MEGABYTE = 1_000_000  # what fits a Kafka record (1 MiB default) with its headers

Body = dict[str, object]


def _event(rng: random.Random, now_ms: int, contact: str, n: int) -> Body:
    return {
        "event_id": f"poison{n}",
        "type": "offered",
        "queue": rng.choice(("sales", "billing", "care")),
        "contact_id": contact,
        "agent_id": "",
        "occurred_at": now_ms - rng.randrange(60_000, 600_000),
    }


def _dumps(body: Body) -> bytes:
    return orjson.dumps(body)


def _truncated(rng: random.Random, body: Body) -> bytes:
    raw = _dumps(body)
    return raw[: rng.randrange(1, len(raw) - 1)]


def _wrong_type(rng: random.Random, body: Body) -> bytes:
    field = rng.choice(("event_id", "queue", "contact_id", "type", "occurred_at"))
    body[field] = rng.choice(([1, 2], {"a": 1}, True, 12.5 if field != "occurred_at" else "x"))
    return _dumps(body)


def _huge_string(rng: random.Random, body: Body) -> bytes:
    field, limit = rng.choice((("queue", 100), ("event_id", 200), ("contact_id", 200)))
    body[field] = "x" * rng.randrange(limit + 1, 4 * limit)
    return _dumps(body)


def _deep(rng: random.Random, body: Body) -> bytes:
    # Past orjson's depth limit (1024) the document is refused as not JSON; below it the
    # nested value is the wrong type. Both kinds are sent.
    depth = rng.choice((rng.randrange(2, 500), rng.randrange(1025, 5000)))
    field = rng.choice(("event_id", "queue", "occurred_at"))
    raw = _dumps({**body, field: "@@"})
    return raw.replace(b'"@@"', b"[" * depth + b"]" * depth)


def _bad_utf8(rng: random.Random, body: Body) -> bytes:
    raw = _dumps(body)
    at = raw.index(b'"queue":"') + 9
    return raw[:at] + rng.choice((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88")) + raw[at:]


def _non_finite(rng: random.Random, body: Body) -> bytes:
    body["type"] = "answered"
    raw = _dumps({**body, "wait_seconds": "@@"})
    return raw.replace(b'"@@"', rng.choice((b"NaN", b"Infinity", b"-Infinity", b"1e999")))


def _future(rng: random.Random, body: Body) -> bytes:
    body["occurred_at"] = rng.choice(
        (
            int(body["occurred_at"]) + rng.randrange(10**9, 10**12),  # type: ignore[call-overload]
            "9999-12-31T23:59:59Z",
            10**19,
        )
    )
    return _dumps(body)


def _null_byte(rng: random.Random, body: Body) -> bytes:
    if rng.random() < 0.5:
        body["event_id"] = f"id\x00{body['event_id']}"  # an escaped U+0000 in an id
        return _dumps(body)
    raw = _dumps(body)
    at = rng.randrange(1, len(raw) - 1)
    return raw[:at] + b"\x00" + raw[at:]  # a raw NUL byte: not JSON


def _duplicate_key(rng: random.Random, body: Body) -> bytes:
    # The contract reads the last of duplicate keys (docs/events.md); these are malformed
    # because the last one is: a valid first value must not let them through.
    field, bad = rng.choice((("occurred_at", b'"soon"'), ("type", b'"nope"'), ("queue", b'""')))
    raw = _dumps(body)
    return raw[:-1] + b',"' + field.encode() + b'":' + bad + b"}"


def _not_object(rng: random.Random, body: Body) -> bytes:
    return rng.choice((b"[]", b"42", b'"offered"', b"null", b"true", b"", b" ", _dumps([body])))


def _incomplete(rng: random.Random, body: Body) -> bytes:
    field = rng.choice(("event_id", "queue", "contact_id", "type", "occurred_at"))
    del body[field]
    if rng.random() < 0.3:
        body["type"] = rng.choice(("hung_up", "ended", "survey", "created"))
    return _dumps(body)


KINDS: dict[str, Callable[[random.Random, Body], bytes]] = {
    "truncated": _truncated,
    "wrong_type": _wrong_type,
    "huge_string": _huge_string,
    "deep_nesting": _deep,
    "invalid_utf8": _bad_utf8,
    "non_finite": _non_finite,
    "future_timestamp": _future,
    "null_byte": _null_byte,
    "duplicate_key": _duplicate_key,
    "not_object": _not_object,
    "incomplete": _incomplete,
}


def megabyte(body: Body) -> bytes:
    """A value of exactly 1 MB (rejected as oversized, kept whole in the dead-letter)."""
    raw = _dumps({**body, "queue": ""})
    return raw.replace(b'"queue":""', b'"queue":"' + b"q" * (MEGABYTE - len(raw)) + b'"')


def payloads(
    seed: int, n: int, now_ms: int, contact: Callable[[int], str], megabytes: int = 5
) -> list[tuple[str, bytes]]:
    """``n`` malformed call-channel payloads (``megabytes`` of them 1 MB each), as
    (kind, bytes), every kind in turn."""
    rng = random.Random(seed)
    kinds = sorted(KINDS)
    out: list[tuple[str, bytes]] = []
    for i in range(n - megabytes):
        kind = kinds[i % len(kinds)]
        out.append((kind, KINDS[kind](rng, _event(rng, now_ms, contact(i), i))))
    for i in range(megabytes):
        out.append(("1mb", megabyte(_event(rng, now_ms, contact(n + i), n + i))))
    rng.shuffle(out)
    return out
