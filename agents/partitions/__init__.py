"""The partitions this worker owns and their state in Redis: fences, loads, the fenced Lua
script."""
