"""The Faust worker: the composition root, the stream processors, the web port, the snapshot,
the worker's own health."""
