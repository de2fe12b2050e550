"""The queue exits of contract 1.2 (docs/events.md, "Queue exits"): their fields, and the
rejections of a flow-out without a destination or a target."""

from __future__ import annotations

from typing import Any

import pytest

from ccmon.streams.contract.events import Event
from tests.unit.streams.contract.test_events import ok, raw, rejected


def test_queue_exits_carry_their_fields() -> None:
    cb = ok(raw("callback_requested", wait_seconds=31, callback_within_seconds=1800))
    assert (cb.wait_seconds, cb.callback_within_seconds) == (31.0, 1800.0)
    fo = ok(raw("flowed_out", destination="queue", target_queue="support", wait_seconds=5))
    assert (fo.destination, fo.target_queue, fo.wait_seconds) == ("queue", "support", 5.0)
    # A target is read only where the contact goes to a queue.
    vm = ok(raw("flowed_out", destination="voicemail", target_queue=42))
    assert (vm.destination, vm.target_queue) == ("voicemail", None)
    assert ok(raw("transferred", target_queue="sales"), "chat").target_queue == "sales"
    assert ok(raw("abandoned_on_hold", hold_seconds=12)).hold_seconds == 12.0
    assert Event.from_dict(fo.to_dict()) == fo


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"destination": "overflow"}, "invalid_destination"),
        ({"destination": None}, "missing_field"),
        ({"destination": "queue"}, "missing_field"),
        ({"destination": "queue", "target_queue": "x" * 101}, "field_too_long"),
        ({"destination": 3}, "invalid_destination"),
    ],
)
def test_flow_outs_need_a_destination_and_a_target_queue(
    fields: dict[str, Any], reason: str
) -> None:
    assert rejected(raw("flowed_out", **fields)).reason == reason


def test_transfers_need_a_target_queue() -> None:
    assert rejected(raw("transferred", target_queue=...)).reason == "missing_field"
    assert rejected(raw("transferred", target_queue=" sales")).reason == (
        "control_characters_in_id"
    )
    assert rejected(raw("transferred", target_queue="sales"), "ticket").reason == (
        "type_not_for_channel"
    )
