"""Serializing writers: one import writes to the warehouse at a time.

PostgreSQL: every writing transaction first takes a transaction-scoped advisory lock, held
until it commits or rolls back (a killed process's lock goes with its connection). Two
imports of overlapping exports therefore each plan against what the other committed: no
duplicate product from a shared new offer, no enrichment planned on a stale snapshot.
SQLite needs nothing here: its transactions begin with BEGIN IMMEDIATE, which takes the
database's single write lock.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa

# A fixed 64-bit key naming "the StarHouse warehouse writer"; other applications sharing the
# database would have to pick this very number to collide with it.
WAREHOUSE_WRITE_LOCK_KEY = zlib.crc32(b"starhouse_pipeline.warehouse.write") | (0x5354 << 32)


def take_write_lock(connection: sa.Connection) -> None:
    """Block until this transaction holds the warehouse write lock (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(WAREHOUSE_WRITE_LOCK_KEY)))


def write_lock_holders(connection: sa.Connection) -> list[int]:
    """Process ids of the sessions holding the write lock now (PostgreSQL; empty elsewhere)."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(
        sa.text(
            # pg_locks spans the cluster; advisory locks are per database.
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((classid::bigint << 32) | objid::bigint) = :key"
        ),
        {"key": WAREHOUSE_WRITE_LOCK_KEY},
    ).all()
    return [row.pid for row in rows]
