"""ccmon: real-time contact-centre monitoring on Kafka, Faust and Prometheus.

The import namespace of the distribution. ``ccmon.streams`` (the event contract and the
Kafka and Redis plumbing) and ``ccmon.agents`` (the stream processors, state, metrics and
the composition root) are the repository folders ``streams/`` and ``agents/``, linked here
so that the source tree, mypy, pytest and the wheel all see one package: ``ccmon``.

``__version__`` is the installed distribution's: pyproject.toml's ``version`` is the one
place it is written (``ccmon --version``, ``ccmon_worker_info{version}``, CHANGELOG.md).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ccmon")
except PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
    __version__ = "0+unknown"
