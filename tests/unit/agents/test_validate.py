"""`ccmon validate FILE`: summary table, exit codes, channel from the file name."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from ccmon.agents import validate as validate_cli
from ccmon.agents.validate import channel_from_name, main, run_validate

NOW = 1717200000.0


def event(n: int, **fields: object) -> bytes:
    doc = {
        "event_id": f"e-{n}",
        "type": "offered",
        "occurred_at": "2024-05-02T09:30:00Z",
        "queue": "billing",
        "contact_id": f"c-{n}",
        **fields,
    }
    return orjson.dumps(doc)


def run(path: Path, channel: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_validate(path, channel, NOW, out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_all_valid_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    lines = [event(1), event(2, type="answered", wait_seconds=3), b"", event(3)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run(path)
    assert code == 0, out
    assert "channel call" in out
    assert "valid by type: answered 1, offered 2" in out
    assert "total: 3 events, 3 valid, 0 invalid (1 blank lines skipped)" in out
    assert err == ""


def test_invalid_lines_are_summarised_per_reason(tmp_path: Path) -> None:
    path = tmp_path / "sample.jsonl"
    lines = [
        event(1),  # 1 valid
        b"not json",  # 2
        event(3, queue=""),  # 3 empty_field
        b"{",  # 4
        b"[1]",  # 5 not_object
        b"nope",  # 6
        b"nah",  # 7 (4th not_json: not listed)
        event(8, type="created"),  # 8 type_not_for_channel
    ]
    path.write_bytes(b"\r\n".join(lines))  # CRLF and no final newline
    code, out, _ = run(path, "chat")
    assert code == 1
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line[:1].isalpha()}
    assert rows["not_json"][1:] == ["4", "2,", "4,", "6"]
    assert rows["empty_field"][1:] == ["1", "3"]
    assert rows["not_object"][1:] == ["1", "5"]
    assert rows["type_not_for_channel"][1:] == ["1", "8"]
    assert "e.g. queue must not be empty" in out
    assert "total: 8 events, 1 valid, 7 invalid" in out
    # Most frequent reason first.
    assert out.index("not_json") < out.index("empty_field")


def test_channel_comes_from_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "contact-center.tickets-2024-05-02.jsonl"
    path.write_bytes(event(1, type="created") + b"\n")
    code, out, _ = run(path)
    assert code == 0 and "channel ticket" in out


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("calls.jsonl", "call"),
        ("Export-CHATS.json", "chat"),
        ("tickets_1.ndjson", "ticket"),
        ("calls-and-chats.jsonl", None),
        ("events.jsonl", None),
    ],
)
def test_channel_from_name(name: str, channel: str | None) -> None:
    assert channel_from_name(Path(name)) == channel


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    unnamed = tmp_path / "events.jsonl"
    unnamed.write_bytes(event(1))
    code, out, err = run(unnamed)
    assert code == 2 and "--channel" in err and out == ""
    code, _, err = run(unnamed, "sms")
    assert code == 2 and "unknown channel 'sms'" in err
    code, _, err = run(tmp_path / "missing-calls.jsonl")
    assert code == 2 and "cannot read" in err and "missing-calls.jsonl" in err
    code, _, err = run(tmp_path, "call")  # a directory
    assert code == 2 and "cannot read" in err


def test_progress_goes_to_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_cli, "PROGRESS_EVERY", 2)
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join(event(n) for n in range(5)))
    code, out, err = run(path)
    assert code == 0
    assert err.splitlines() == ["ccmon validate: 2 lines read", "ccmon validate: 4 lines read"]
    assert "lines read" not in out


def test_now_anchors_the_future_check(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes(event(1, occurred_at="2024-06-01T01:00:00Z"))
    assert run(path)[0] == 1  # an hour ahead of NOW
    assert run_validate(path, None, NOW + 3600, io.StringIO(), err=io.StringIO()) == 0


def test_main_parses_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sample.jsonl"
    path.write_bytes(event(1, occurred_at=1714635000000) + b"\n")
    assert main([str(path), "--channel", "call", "--now", str(NOW)]) == 0
    assert "1 valid" in capsys.readouterr().out
    with pytest.raises(SystemExit) as caught:
        main([str(path), "--channel", "sms"])
    assert caught.value.code == 2
