"""The live wall: ``ccmon wall``, a read-only web server that shows the Redis read model on
a wall screen, updated by Server-Sent Events (docs/wall.md; the choice of a separate command
over the worker's web port is in docs/architecture.md, "The wall")."""
