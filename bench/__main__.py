"""``python -m bench`` (the benchmark), ``python -m bench memory`` (Redis memory by key
class), ``python -m bench soak`` (a week in an hour: exact counts and flat memory)."""

import importlib
import sys

from bench import cli

# Imported when asked for: the soak draws with matplotlib (the `bench` extra).
COMMANDS = {"memory": "bench.memory", "soak": "bench.soak"}

if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
    raise SystemExit(importlib.import_module(COMMANDS[sys.argv[1]]).main(sys.argv[2:]))
raise SystemExit(cli.main())
