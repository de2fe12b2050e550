"""ccmon benchmarks on real Kafka and Redis: ``python -m bench --help`` (docs/benchmarks.md).

Performance targets live here, never in timed unit tests (DEVELOPERS.md).
"""
