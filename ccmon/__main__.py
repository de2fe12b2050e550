"""``python -m ccmon ...`` is the ``ccmon`` command."""

from ccmon.agents.cli import main

main()
