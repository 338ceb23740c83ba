"""Kajabi transactions exports into the StarHouse CRM database, as Dagster assets."""

import os

# polars configures its allocator (jemalloc) to keep freed pages for half a second and then
# to hand them back lazily, so they still count against the process for a second more. An
# import's steps follow each other faster than that: at 1M rows a step began with the last
# step's frames still resident (900 MiB instead of 300), and the first import peaked at
# 1.1-1.2 GiB instead of 0.9. Handing pages back at once bounds memory, at a measured cost:
# the 1M re-import is 13-23% slower (docs/scaling.md). polars appends this to its own
# settings when it is first imported, so it must be set before that; an operator's own
# value is kept (`_RJEM_MALLOC_CONF=dirty_decay_ms:500,muzzy_decay_ms:1000` restores polars').
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
