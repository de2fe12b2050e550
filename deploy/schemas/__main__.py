"""Write the JSON Schemas of the configuration files (deploy/schemas/*.schema.json).

They are generated from the pydantic models that check the files (``ccmon.streams.config``
and ``ccmon.agents.devkit.simulator.config``), and committed so that an editor with the YAML
language server completes and checks a file that names one in its first line::

    # yaml-language-server: $schema=schemas/queues.schema.json

``python -m deploy.schemas`` rewrites them, ``--check`` exits 1 when one is stale
(tests/unit/deploy/test_schemas.py runs it). ``ccmon check-config --schema KIND`` prints the
same schema from an installed ccmon.
"""

from __future__ import annotations

import json
from pathlib import Path

from ccmon.agents.checkconfig import KINDS, json_schema
from deploy import generated

HERE = Path(__file__).resolve().parent


def outputs() -> dict[Path, str]:
    return {
        HERE / f"{kind}.schema.json": json.dumps(json_schema(kind), indent=2) + "\n"
        for kind in KINDS
    }


def main(argv: list[str] | None = None) -> int:
    return generated.main(__doc__.splitlines()[0], outputs, "python -m deploy.schemas", argv)


if __name__ == "__main__":
    raise SystemExit(main())
