"""``ccmon check-config FILE...``: a queue, simulator or wall configuration checked offline.

What the worker (the queue configuration) and ``ccmon simulate --config`` (the simulator's)
would say about a file, without Kafka or Redis: one line per problem, naming the file, the
path in it and the value, then exit status 1. It also prints the JSON Schema of either kind
(``--schema``), the one deploy/schemas/ holds for editors.

The kind of a file is what ``--kind`` says, else the schema its ``yaml-language-server``
comment names, else its shape: a simulator file lists its queues (``queues: [...]``) or has
keys of its own (``tickets``, ``scenarios``, ``seed``, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from ccmon.agents.devkit.simulator.config import SimFile
from ccmon.agents.wall.wallconfig import WallFile, check_queues
from ccmon.streams.config import Limits, QueueFile, load_queue_config
from ccmon.streams.configfile import ConfigError, read_yaml, validate

KINDS: dict[str, type[BaseModel]] = {"queues": QueueFile, "simulator": SimFile, "wall": WallFile}
TITLES = {
    "queues": "ccmon queue configuration",
    "simulator": "ccmon simulator configuration",
    "wall": "ccmon wall configuration",
}
_SIMULATOR_KEYS = {"tickets", "scenarios", "seed", "time_format", "run_id", "agent_events"}
_WALL_KEYS = {"screens", "rotations", "teams", "agents", "agent_board", "language"}
_SCHEMA_COMMENT = re.compile(
    rb"yaml-language-server:\s*\$schema=\S*?(queues|simulator|wall)\.schema"
)
EXIT_OK, EXIT_INVALID = 0, 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccmon check-config",
        description="Check queue configuration (CCMON_QUEUE_CONFIG) or simulator "
        "configuration (ccmon simulate --config) files offline: one line per problem, exit "
        "status 1 if any. docs/configuration.md.",
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="YAML or JSON files")
    p.add_argument(
        "--kind",
        choices=sorted(KINDS),
        help="what the files are (default: from their $schema comment, else their shape)",
    )
    p.add_argument(
        "--queues",
        type=Path,
        metavar="FILE",
        help="wall files: the queue configuration their screens name queues of "
        "(default: $CCMON_QUEUE_CONFIG)",
    )
    p.add_argument(
        "--schema",
        choices=sorted(KINDS),
        help="print the JSON Schema of this kind of file and exit",
    )
    return p


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a kind of file, as committed in deploy/schemas/."""
    schema = KINDS[kind].model_json_schema()
    schema["title"] = TITLES[kind]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def detect(path: Path, document: object) -> str:
    with path.open("rb") as stream:
        found = _SCHEMA_COMMENT.search(stream.read(4096))
    if found:
        return found.group(1).decode()
    if isinstance(document, dict) and (
        isinstance(document.get("queues"), list) or _SIMULATOR_KEYS & set(document)
    ):
        return "simulator"
    if isinstance(document, dict) and _WALL_KEYS & set(document):
        return "wall"
    return "queues"


def summary(kind: str, model: BaseModel) -> str:
    if isinstance(model, QueueFile):
        queues, cap = len(model.queues or {}), (model.limits or Limits()).max_queues
        return f"queue configuration, {queues} queues, limits.max_queues {cap}"
    if isinstance(model, WallFile):
        return (
            f"wall configuration, {len(model.screens)} screens, {len(model.rotations)} "
            f"rotations, {len(model.teams)} teams, language {model.language}"
        )
    assert isinstance(model, SimFile)
    return (
        f"simulator configuration, {len(model.queues)} call/chat queues, "
        f"{len(model.tickets)} ticket queues, {len(model.scenarios)} scenarios"
    )


def check(
    path: Path, kind: str | None, out: TextIO, err: TextIO, queues: Path | None = None
) -> bool:
    try:
        document = read_yaml(path)
        kind = kind or detect(path, document)
        model = validate(KINDS[kind], document, str(path), base_dir=path.parent)
        if isinstance(model, WallFile):  # its screens' queues, against the workers' file
            known = None if queues is None else load_queue_config(queues).configured_queues
            check_queues(model, known, str(path))
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=err)
        return False
    print(f"{path}: OK ({summary(kind, model)})", file=out)
    return True


def run_check_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.schema:
        print(json.dumps(json_schema(args.schema), indent=2), file=out)
        return EXIT_OK
    if not args.files:
        print("ccmon check-config: give at least one FILE (or --schema KIND)", file=err)
        return 2
    queues = args.queues or (Path(q) if (q := os.environ.get("CCMON_QUEUE_CONFIG")) else None)
    results = [check(path, args.kind, out, err, queues) for path in args.files]
    return EXIT_OK if all(results) else EXIT_INVALID


def main(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    return run_check_config(build_parser().parse_args(list(argv)), out, err)
