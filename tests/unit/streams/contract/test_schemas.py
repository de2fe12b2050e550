"""The JSON Schema files and validate() accept and reject the same example documents.

The schemas are for integrators (editor completion, their own CI); validate() is what runs.
What a schema cannot express is listed in SCHEMA_BLIND and in docs/events.md:
- future_timestamp: relative to the receiving worker's clock, a schema has no "now";
- oversized: a limit on the Kafka record's bytes (tested in test_events.py; no
  64 KiB example file is kept in the repository).
Documents that are not strict JSON (bad UTF-8, syntax errors, NaN/Infinity) are rejected
before any schema is applied, exactly as a JSON Schema validator's caller would.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from ccmon.streams.contract.events import (
    ALL_CHANNELS,
    CHANNELS,
    REASONS,
    TYPES_BY_CHANNEL,
    Event,
    Rejection,
    validate,
)
from tests.support.paths import ROOT

SCHEMAS = ROOT / "streams" / "contract" / "schemas"
EXAMPLES = SCHEMAS / "examples"
NOW = 1717200000.0  # 2024-06-01T00:00:00Z; examples are dated May 2024
SCHEMA_BLIND = {"future_timestamp"}
NOT_EXEMPLIFIED = {"oversized", "unknown_channel", "internal_error"}
INDEX: dict[str, str] = json.loads((EXAMPLES / "invalid" / "index.json").read_text())
VALID = sorted((EXAMPLES / "valid").glob("*.json"))
INVALID = sorted(INDEX)

# jsonschema checks "date-time" only with an optional extra package; an independent stdlib
# check stands in (the schema's pattern already demands the RFC 3339 shape with offset).
FORMATS = FormatChecker()


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value.upper()).tzinfo is not None


FORMATS.checks("date-time", raises=ValueError)(_date_time)


@cache
def schema_validator(channel: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{channel}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=FORMATS)


def strict_json(raw: bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(raw, parse_constant=refuse)


def schema_accepts(raw: bytes, channel: str) -> bool:
    try:
        document = strict_json(raw)
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return False
    return bool(schema_validator(channel).is_valid(document))


def channel_of(path_name: str) -> str:
    channel = path_name.split("-", 1)[0]
    assert channel in ALL_CHANNELS, f"{path_name}: examples are named <channel>-<name>.json"
    return channel


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_schema_files_are_valid_draft_2020_12(channel: str) -> None:
    schema = json.loads((SCHEMAS / f"{channel}.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]["type"]["enum"]) == TYPES_BY_CHANNEL[channel]


def test_shared_definitions_are_identical_across_channels() -> None:
    defs = [json.loads((SCHEMAS / f"{c}.schema.json").read_text())["$defs"] for c in ALL_CHANNELS]
    assert all(d == defs[0] for d in defs)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_examples_pass_both(path: Path) -> None:
    raw, channel = path.read_bytes(), channel_of(path.name)
    assert isinstance(validate(raw, channel, NOW), Event)
    errors = [e.message for e in schema_validator(channel).iter_errors(strict_json(raw))]
    assert errors == []


@pytest.mark.parametrize("name", INVALID)
def test_invalid_examples_fail_both_with_the_indexed_reason(name: str) -> None:
    raw, channel = (EXAMPLES / "invalid" / name).read_bytes(), channel_of(name)
    result = validate(raw, channel, NOW)
    assert isinstance(result, Rejection), result
    assert result.reason == INDEX[name], result.detail
    # A blind spot must really be blind: if the schema learns it, move it out of the list.
    assert schema_accepts(raw, channel) is (INDEX[name] in SCHEMA_BLIND)


def test_index_lists_exactly_the_invalid_files() -> None:
    on_disk = {p.name for p in (EXAMPLES / "invalid").glob("*.json")} - {"index.json"}
    assert on_disk == set(INDEX)
    assert set(INDEX.values()) <= REASONS


def test_examples_cover_every_type_and_every_reason() -> None:
    for channel, types in TYPES_BY_CHANNEL.items():
        seen = {json.loads(p.read_text())["type"] for p in VALID if channel_of(p.name) == channel}
        assert seen == types, channel
    assert set(INDEX.values()) == REASONS - NOT_EXEMPLIFIED


ids = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Z")), min_size=1, max_size=40)


@settings(max_examples=150)
@given(
    st.sampled_from(CHANNELS),
    st.data(),
    st.dictionaries(
        st.sampled_from(["agent_id", "wait_seconds", "schema_version", "priority", "csat"]),
        st.none() | st.booleans() | st.integers(-5, 200000) | st.floats(-1, 1e6) | ids,
    ),
)
def test_schema_and_validate_agree_on_generated_documents(
    channel: str, data: st.DataObject, extra: dict[str, Any]
) -> None:
    type_ = data.draw(st.sampled_from(sorted(TYPES_BY_CHANNEL[channel])))
    by_type: dict[str, dict[str, Any]] = {
        "blocked": {"reason": "closed"},
        "ended": {"talk_seconds": 1},
    }
    required = by_type.get(type_, {})
    if type_ == "survey":
        required = {"nps": data.draw(st.integers(-1, 11))}
    document = {
        "event_id": data.draw(ids),
        "type": type_,
        "occurred_at": data.draw(st.integers(900000000000, 1717200000000) | st.just("x")),
        "queue": data.draw(ids),
        "contact_id": "c-1",
        **required,
        **extra,
    }
    raw = orjson.dumps(document)
    assert isinstance(validate(raw, channel, NOW), Event) is schema_accepts(raw, channel)
