"""Configuration files read safely into pydantic models, with one line per problem.

Both of ccmon's YAML files (the queue configuration, :mod:`ccmon.streams.config`, and the
simulator's) are models; this module is what they share: reading the file, and turning what
pydantic reports into lines an operator can act on::

    queues.yaml: queues.billing.service_level.threshold_seconds: must be greater than 0 (got -5)

A file is refused before it is parsed when it is too large, not UTF-8 text or binary; before
it is built into Python objects when its aliases would expand past a bound (the "billion
laughs" bomb of nested anchors: PyYAML shares aliased objects, so the blow-up would happen
later, in validation, at 10^9 values), when it nests too deeply or aliases itself, or when a
mapping repeats a key (PyYAML would silently keep the last one: two `billing` queues become
one).

A model of a file derives from :class:`Section` (unknown keys are errors, with the allowed
keys and the nearest one named; values are strict: `"90"` is not a number, `yes` is not 1).
A validator raises :func:`fail` to name a place below the one it validates (`at`) and the
value to show.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_FILE_BYTES = 1 << 20  # 1 MiB: 500 queues with every key set take about 150 KB
MAX_VALUES = 200_000  # values after alias expansion
MAX_DEPTH = 64  # nesting of mappings and lists
NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "<no value>"})()
_INPUT: Any = type("Input", (), {"__repr__": lambda self: "<the input>"})()
_MAX_SHOWN = 80  # characters of a value repeated in a message
_CUSTOM = "ccmon"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One mistake: the file, the dotted path in it (or a line number), what is wrong and
    what is allowed, and the value found."""

    source: str
    path: str
    message: str
    value: Any = NO_VALUE

    def line(self) -> str:
        where = ": ".join(part for part in (self.source, self.path) if part)
        return f"{where}: {self.message}{_shown(self.value)}"


class ConfigError(ValueError):
    """A configuration file that cannot be used; ``str()`` is one line per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(p.line() for p in self.problems))

    @property
    def lines(self) -> list[str]:
        return [p.line() for p in self.problems]

    # The first problem's parts, for callers that look at one.
    @property
    def source(self) -> str:
        return self.problems[0].source

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def value(self) -> Any:
        return self.problems[0].value


def fail(message: str, *, value: Any = _INPUT, at: Iterable[str | int] = ()) -> Exception:
    """An error for a validator to raise: ``at`` extends the path of the value validated,
    ``value`` is what the message repeats (default: the input of the validator; NO_VALUE:
    none)."""
    context = {"problem": message, "at": tuple(at), "value": value}
    return PydanticCustomError(_CUSTOM, "{problem}", context)


class Section(BaseModel):
    """A mapping of a configuration file: known keys only, strict values, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = sorted(cls.model_fields)
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                key = unknown[0]
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {near[0]}? " if near else ""
                more = f" (and {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else ""
                message = f"unknown key{more}; {hint}allowed here: {', '.join(allowed)}"
                raise fail(message, value=key, at=(key,))
        return data


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise fail("unknown IANA time zone (e.g. Europe/Paris, America/New_York, UTC)") from None
    return name


TimeZone = Annotated[str, AfterValidator(_zone)]

Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _ratio(value: object) -> object:
    # NaN is neither in nor out of [0, 1]: pydantic's finite check names it.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and (value < 0 or value > 1):  # type: ignore[operator]
        raise fail("must be a ratio between 0 and 1 (0.8, not 80)")
    return value


def whole_between(low: int, high: int, what: str) -> Callable[[object], object]:
    """A check that an integer is from ``low`` to ``high``, refused with one line that says
    the range (a BeforeValidator: other types get pydantic's own message)."""

    def check(value: object) -> object:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if whole and not low <= value <= high:  # type: ignore[operator]
            raise fail(f"must be between {low} and {high} {what}")
        return value

    return check


Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), BeforeValidator(_ratio)]


# ---- reading ------------------------------------------------------------------------------


def read_yaml(path: str | Path) -> object:
    """The document of a YAML (or JSON) file, or ConfigError naming the file."""
    source = str(path)
    file = Path(path)

    def refuse(message: str, where: str = "") -> ConfigError:
        return ConfigError([Problem(source, where, message)])

    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise refuse(f"is {size:,} bytes; a configuration file holds at most {_MIB} MiB")
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:  # a pipe or a device reports no size
        raise refuse(f"is over {_MIB} MiB; a configuration file holds at most that")
    if b"\x00" in data:
        raise refuse(f"is a binary file, not YAML text (a NUL byte at offset {data.index(0)})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise refuse(problem, _line(data, exc.start)) from None
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters here
        node = loader.get_single_node()
        if node is None:
            raise refuse("is empty: no YAML document (write {} for an empty mapping)")
        _Walk(source, loader).check(node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise refuse(_yaml_problem(exc), _yaml_where(exc)) from None
    except yaml.YAMLError as exc:  # the reader's errors have no mark
        raise refuse("not valid YAML: " + " ".join(str(exc).split())) from None
    except RecursionError:
        raise refuse(f"nests deeper than {MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


_MIB = MAX_FILE_BYTES >> 20


def _line(data: bytes, offset: int) -> str:
    return f"line {data.count(10, 0, offset) + 1}"  # 10: the newline byte


def _yaml_where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    parts = [exc.context, exc.problem] if exc.context else [exc.problem]
    return "not valid YAML: " + " ".join(" ".join(str(p).split()) for p in parts if p)


class _Walk:
    """Checks a composed document before anything is built from it: the size it expands to
    through aliases (each node's size is computed once, so a bomb costs nothing to detect),
    its depth, aliases to themselves and repeated keys."""

    def __init__(self, source: str, loader: yaml.SafeLoader) -> None:
        self.source = source
        self.loader = loader
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.total = 0

    def refuse(self, node: yaml.Node, path: str, message: str) -> ConfigError:
        if len(path) > _MAX_SHOWN:
            path = path[: _MAX_SHOWN - 3] + "..."
        where = f"line {node.start_mark.line + 1}" + (f" ({path})" if path else "")
        return ConfigError([Problem(self.source, where, message)])

    def check(self, node: yaml.Node) -> None:
        size = self.size(node, "", 0)
        if size > MAX_VALUES:  # pragma: no cover - size() raises first
            raise self.refuse(node, "", "too many values")

    def size(self, node: yaml.Node, path: str, depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.open:
            raise self.refuse(node, path, "an alias refers to the anchor that contains it")
        if depth > MAX_DEPTH:
            raise self.refuse(node, path, f"nests deeper than {MAX_DEPTH} levels")
        size = 1
        self.open.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                size += self.size(item, f"{path}[{i}]", depth + 1)
        elif isinstance(node, yaml.MappingNode):
            size += self.mapping(node, path, depth)
        self.open.discard(id(node))
        if size > MAX_VALUES:
            raise self.refuse(
                node,
                path,
                f"expands to more than {MAX_VALUES:,} values through its aliases (a YAML "
                "bomb?); write the values out, or alias less",
            )
        self.sizes[id(node)] = size
        return size

    def mapping(self, node: yaml.MappingNode, path: str, depth: int) -> int:
        size = 0
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key: object = key_node.value
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.loader.construct_object(key_node)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise self.refuse(
                        key_node,
                        join(path, key),
                        f"duplicate key {key!r} (first on line {seen[key]}); YAML would keep "
                        "only the last one",
                    )
                seen[key] = key_node.start_mark.line + 1
            size += self.size(key_node, path, depth + 1)
            size += self.size(value_node, join(path, key), depth + 1)
        return size


# ---- validating ---------------------------------------------------------------------------


def load(model: type[M], path: str | Path, base_dir: Path | None = None) -> M:
    """Read and validate a file into ``model``, or ConfigError with every problem; files it
    names (holiday calendars) are relative to ``base_dir``, by default the file's folder."""
    folder = Path(path).parent if base_dir is None else base_dir
    return validate(model, read_yaml(path), str(path), base_dir=folder)


def validate(model: type[M], document: object, source: str, base_dir: Path | None = None) -> M:
    try:
        return model.model_validate(document, context={"base_dir": base_dir or Path.cwd()})
    except ValidationError as exc:
        raise ConfigError(problems(exc, source)) from None


def problems(exc: ValidationError, source: str) -> list[Problem]:
    found = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if part != "[key]"]
        value = error.get("input", NO_VALUE)
        ctx = error.get("ctx") or {}
        message = _MESSAGES.get(error["type"]) or _message(error["msg"])
        kind = error["type"].removeprefix("string_")
        if kind in ("too_short", "too_long"):
            bound = ctx.get("min_length", ctx.get("max_length"))
            unit = "characters" if isinstance(value, str) else "items"
            word = "at least" if kind == "too_short" else "at most"
            message = f"must have {word} {bound} {unit if bound != 1 else unit[:-1]}"
        if error["type"] == _CUSTOM:
            loc += list(ctx.get("at", ()))
            message = str(ctx["problem"])
            if ctx.get("value", _INPUT) is not _INPUT:
                value = ctx["value"]
        path = ""
        for part in loc:
            path = join(path, part)
        found.append(Problem(source, path or "(top level)", message, value))
    return found


def settings_problems(exc: ValidationError, env_prefix: str) -> list[Problem]:
    """Problems of a pydantic-settings model, each named by its environment variable."""
    return [
        Problem("", env_prefix + str((*error["loc"], "")[0]).upper(), p.message, p.value)
        for error, p in zip(exc.errors(include_url=False), problems(exc, ""), strict=True)
    ]


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def join(path: str, key: object) -> str:
    """``queues.billing``, ``queues['billing eu']``, ``channels[0]``."""
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


_MESSAGES = {
    "missing": "required",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "finite_number": "must be a finite number",
    "extra_forbidden": "unknown key",
}


def _message(text: str) -> str:
    text = text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if text.startswith("Input should be "):
        return "must be " + text.removeprefix("Input should be ")
    return text[:1].lower() + text[1:]


def _shown(value: Any) -> str:
    if value is NO_VALUE:
        return ""
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return f" (got {text})"
