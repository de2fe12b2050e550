"""Generate the ccmon Grafana dashboards (deploy/grafana/dashboards/*.json).

Dashboards are code so that every panel gets the same datasource, fonts and colour rules;
the JSON is committed because Grafana provisioning reads files. ``python -m
deploy.grafana.build`` rewrites them, ``--check`` exits 1 when they are stale
(tests/unit/alerts/test_dashboards.py runs it). Thresholds and their reasons:
deploy/grafana/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deploy.grafana.ops import ops
from deploy.grafana.wall import wall

HERE = Path(__file__).resolve().parent

OUT = HERE / "dashboards"


def dashboards() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "ccmon-wall.json", wall()
    yield "ccmon-ops.json", ops()


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, board in dashboards():
        path, text = OUT / name, render(board)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}: run `python -m deploy.grafana.build`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
