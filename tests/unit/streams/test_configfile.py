"""Reading configuration files safely, and problems as lines (ccmon.streams.configfile)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from ccmon.streams.configfile import (
    MAX_FILE_BYTES,
    MAX_VALUES,
    ConfigError,
    Section,
    TimeZone,
    fail,
    join,
    load,
    read_yaml,
)


def write(tmp_path: Path, content: str | bytes, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    (line,) = caught.value.lines
    assert line.startswith(f"{path}: ")
    return line.removeprefix(f"{path}: ")


def test_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = "base: &b {x: 1, y: 2}\none: {<<: *b, y: 3}\ntwo: *b\n"
    assert read_yaml(write(tmp_path, text)) == {
        "base": {"x": 1, "y": 2},
        "one": {"x": 1, "y": 3},
        "two": {"x": 1, "y": 2},
    }


def test_json_is_read_too(tmp_path: Path) -> None:
    assert read_yaml(write(tmp_path, '{"a": [1, 2.5, "x"]}', "c.json")) == {"a": [1, 2.5, "x"]}


def test_size_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)
    assert (
        refused(path)
        == f"is {MAX_FILE_BYTES + 1:,} bytes; a configuration file holds at most 1 MiB"
    )


def test_a_file_just_under_the_size_is_read(tmp_path: Path) -> None:
    body = "# " + "x" * (MAX_FILE_BYTES - 20) + "\na: 1\n"
    assert read_yaml(write(tmp_path, body)) == {"a": 1}


def test_aliases_that_expand_too_far_are_refused_before_construction(tmp_path: Path) -> None:
    # 2^20 leaves through 20 levels of two aliases each: refused from the node graph.
    lines = ["l0: &l0 [x, x]"] + [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 21)]
    line = refused(write(tmp_path, "\n".join(lines) + "\n"))
    assert f"expands to more than {MAX_VALUES:,} values" in line


def test_many_aliases_of_a_small_block_are_fine(tmp_path: Path) -> None:
    text = "b: &b {s: {t: 1}}\nq:\n" + "".join(f"  q{i}: *b\n" for i in range(2000))
    assert len(read_yaml(write(tmp_path, text))["q"]) == 2000  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("a: 1\nb: 2\na: 3\n", "line 3 (a)", "duplicate key 'a' (first on line 1)"),
        ("q:\n  x: {a: 1, a: 2}\n", "line 2 (q.x.a)", "duplicate key 'a'"),
        ("q:\n  1: a\n  1: b\n", "line 3 (q[1])", "duplicate key 1"),
        ("x: &x [*x]\n", "line 1 (x[0])", "refers to the anchor that contains it"),
        ("a: [\n", "line 2, column 1", "not valid YAML"),
        ("a: !!python/name:os.system\n", "line 1, column 4", "could not determine a constructor"),
    ],
)
def test_what_yaml_would_hide_is_named(tmp_path: Path, text: str, where: str, what: str) -> None:
    line = refused(write(tmp_path, text))
    assert line.startswith(f"{where}: "), line
    assert what in line


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "is empty"),
        (b"# nothing\n", "is empty"),
        (b"a: 1\x00", "is a binary file, not YAML text (a NUL byte at offset 4)"),
        (b"a: \xff\n", "line 1: is not UTF-8 text (byte 0xff at offset 3)"),
        (b"a: \x07\n", "not valid YAML"),
    ],
)
def test_unusable_content(tmp_path: Path, content: bytes, what: str) -> None:
    assert what in refused(write(tmp_path, content))


def test_unreadable_file(tmp_path: Path) -> None:
    assert refused(tmp_path / "missing.yaml").startswith("cannot read: No such file")
    assert refused(tmp_path).startswith("cannot read: Is a directory")


class Inner(Section):
    n: int = Field(1, ge=1)
    zone: TimeZone = "UTC"


class Outer(Section):
    inner: Inner | None = None
    items: list[Annotated[int, Field(ge=0)]] = []
    named: dict[str, Inner] = {}

    def model_post_init(self, context: object) -> None:
        if self.items and sum(self.items) > 10:
            raise fail("add up to 10 at most", at=("items",), value=sum(self.items))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("inner: {n: 0}", "inner.n: must be greater than or equal to 1 (got 0)"),
        ("inner: {n: '2'}", "inner.n: must be an integer (got '2')"),
        ("inner: {zone: Mars/Base}", "inner.zone: unknown IANA time zone"),
        ("inner: {zone: Europe}", "inner.zone: unknown IANA time zone"),  # a folder of zones
        ("inner: {zone: ../../etc/passwd}", "inner.zone: unknown IANA time zone"),
        ("inner: {nn: 1}", "inner.nn: unknown key; did you mean n? allowed here: n, zone"),
        ("inner: {a: 1, b: 2}", "inner.a: unknown key (and 'b'); allowed here: n, zone"),
        ("items: [1, -1]", "items[1]: must be greater than or equal to 0 (got -1)"),
        ("named: {'a b': {n: 0}}", "named['a b'].n: must be greater than or equal to 1"),
        ("items: [9, 9]", "items: add up to 10 at most (got 18)"),
        ("[1]", "(top level): must be a mapping (got [1])"),
    ],
)
def test_problems_are_one_line_each(tmp_path: Path, text: str, line: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load(Outer, path)
    assert caught.value.lines[0].startswith(f"{path}: {line}"), caught.value.lines


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "inner: {n: 0, zone: Nowhere}\nitems: [-1]\n")
    with pytest.raises(ConfigError) as caught:
        load(Outer, path)
    assert [line.split(": ")[1] for line in caught.value.lines] == [
        "inner.n", "inner.zone", "items[0]",
    ]  # fmt: skip


def test_long_values_are_cut(tmp_path: Path) -> None:
    path = write(tmp_path, f"inner: {{zone: {'x' * 500}}}\n")
    with pytest.raises(ConfigError) as caught:
        load(Outer, path)
    assert len(caught.value.lines[0]) < len(str(path)) + 200


def test_join() -> None:
    assert join("", "a") == "a"
    assert join("a", "b-c") == "a.b-c"
    assert join("a", 0) == "a[0]"
    assert join("a", "b c") == "a['b c']"
