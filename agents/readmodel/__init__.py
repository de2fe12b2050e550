"""The read model, pure: what every reader of the numbers sees, built once per instant.

How data flows through it (docs/architecture.md, "Exposition" and "The wall"):

1. The owner's copies of its partitions (:mod:`ccmon.agents.partitions`) are the only
   input; Redis is never read here.
2. :mod:`views` turns them into one :class:`views.QueueView` per channel x queue
   (windows, live gauges, agents, the forecast), recomputed only for the pairs whose state
   changed or whose minute turned (``PartitionState.versions``), in slices
   (:class:`views.BuildRun`) so that the event loop keeps counting.
3. :mod:`source` shares one build between its two readers and drops it when partitions
   move (the owner generation): the /metrics body (:mod:`ccmon.agents.metrics.queues`) and
   the Redis snapshot (:mod:`ccmon.agents.worker.snapshot`), which writes one JSON document
   per pair with the layout of :mod:`ccmon.streams.store.livemodel` and publishes a notice.
4. ``ccmon wall`` (:mod:`ccmon.agents.wall.feed`) reads those documents on each notice and
   pushes tiles to the screens.

No Faust, aiokafka or redis import here (a forbidden contract in pyproject.toml).
"""
