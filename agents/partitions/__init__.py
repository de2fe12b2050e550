"""The partitions this worker owns and their state in Redis: the home of the partition state.

A repartition partition's state lives in three forms, and flows between them in a circle
(docs/architecture.md, "The counting path" and "Ownership"):

1. **Assignment.** :class:`owner.Owner` raises the partition's fence in Redis
   (``INCR P:fence:p``), loads the partition (:meth:`statestore.StateStore.load`, two
   round trips) as a :class:`~ccmon.agents.domain.partition.RawPartition` and keeps it as
   a :class:`~ccmon.agents.domain.state.PartitionState`: the owner's copy, in memory.
2. **A batch.** The counting processor (:mod:`ccmon.agents.worker.counting`) looks the
   batch's duplicate guards up (``Owner.seen``), and the domain records what the batch
   changes in an :class:`~ccmon.agents.domain.effects.Effects`: a
   :class:`~ccmon.agents.domain.partition.Writes`, nothing changed in place.
3. **The write.** ``Owner.write`` hands the writes to one Lua script
   (:meth:`statestore.StateStore.apply`) with the owner's fence token: guards and state
   together or not at all. ``ok``: the writes are merged into the copy
   (``PartitionState.merge``); ``fenced``: another worker owns the partition now, the copy
   is dropped; ``nofence``: Redis lost its data, the whole copy is written back first.

The read side never reads Redis: :mod:`ccmon.agents.readmodel` reads the copies
(``Owner.owned()``). The types shared by the domain and the store are the domain's
(:mod:`ccmon.agents.domain.partition`): the store depends on the domain, never the reverse.
"""
