"""Generated files that are committed (dashboards, schemas): written, or checked for drift.

Each generator builds ``{path: text}`` and hands it here; ``--check`` (what the tests run)
exits 1 naming the stale files and the command that rewrites them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path


def main(
    description: str, outputs: Callable[[], Mapping[Path, str]], command: str,
    argv: list[str] | None = None,
) -> int:  # fmt: skip
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    files = outputs()
    if args.check:
        stale = [
            str(path)
            for path, text in files.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"stale: {', '.join(stale)}: run `{command}`", file=sys.stderr)
            return 1
        return 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0
