"""``ccmon report``: the closed records of a date range, read from the records topic, as
CSV, JSON or a self-contained HTML page (docs/metrics.md, "Closed records")."""
