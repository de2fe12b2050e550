"""``python -m bench`` (the benchmark), ``python -m bench memory`` (Redis memory by key
class)."""

import sys

from bench import cli, memory

COMMANDS = {"memory": memory.main}

if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
    raise SystemExit(COMMANDS[sys.argv[1]](sys.argv[2:]))
raise SystemExit(cli.main())
