"""The Redis plumbing that knows nothing of the domain: the queue cap, the read model's layout,
the shared stream clock."""
