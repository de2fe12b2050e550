"""Prometheus exposition: one collector per concern, all computing at scrape time
(:mod:`ccmon.agents.worker.exposition` registers them)."""
