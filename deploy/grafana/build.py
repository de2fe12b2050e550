"""Generate the ccmon Grafana dashboards (deploy/grafana/dashboards/*.json).

Dashboards are code so that every panel gets the same datasource, fonts and colour rules;
the JSON is committed because Grafana provisioning reads files. ``python -m
deploy.grafana.build`` rewrites them, ``--check`` exits 1 when they are stale
(tests/unit/alerts/test_dashboards.py runs it). Thresholds and their reasons:
deploy/grafana/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deploy import generated
from deploy.grafana.compliance import compliance
from deploy.grafana.ops import ops
from deploy.grafana.wall import wall

HERE = Path(__file__).resolve().parent

OUT = HERE / "dashboards"


def dashboards() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "ccmon-wall.json", wall()
    yield "ccmon-ops.json", ops()
    yield "ccmon-compliance.json", compliance()


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    return {OUT / name: render(board) for name, board in dashboards()}


def main(argv: list[str] | None = None) -> int:
    return generated.main(__doc__.splitlines()[0], outputs, "python -m deploy.grafana.build", argv)


if __name__ == "__main__":
    raise SystemExit(main())
