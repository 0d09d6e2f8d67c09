"""Bulk readers: many aggregates' snapshots and events in a few queries.

The ledger's `StoredEventReader` port, for the two storages the project runs
on. PostgreSQL joins the events table with `unnest(ids, versions)`; SQLite
reads `IN (...)` chunks. Both return rows ordered by aggregate and version,
exactly what `ledger.loading.load_many` expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

CHUNK = 5000


class PostgresBulkReader:
    def __init__(
        self, events: PostgresAggregateRecorder, snapshots: PostgresAggregateRecorder | None
    ):
        self.events = events
        self.snapshots = snapshots
        schema = Identifier(events.datastore.schema)
        self._events_sql = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM {s}.{t} e JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, v) "
            "ON e.originator_id = k.id AND e.originator_version > k.v "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(s=schema, t=Identifier(events.events_table_name))
        self._snap_sql = (
            SQL(
                "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
                "FROM {s}.{t} WHERE originator_id = ANY(%s) "
                "ORDER BY originator_id, originator_version DESC"
            ).format(s=schema, t=Identifier(snapshots.events_table_name))
            if snapshots
            else None
        )

    def _query(
        self, recorder: PostgresAggregateRecorder, sql: Any, params: Any
    ) -> list[StoredEvent]:
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return [
                StoredEvent(
                    r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
                )
                for r in curs.fetchall()
            ]

    def latest_snapshots(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        if self.snapshots is None or self._snap_sql is None:
            return []
        out: list[StoredEvent] = []
        for i in range(0, len(ids), CHUNK):
            out += self._query(self.snapshots, self._snap_sql, (list(ids[i : i + CHUNK]),))
        return out

    def events_after(self, versions: dict[UUID, int]) -> list[StoredEvent]:
        items = list(versions.items())
        out: list[StoredEvent] = []
        for i in range(0, len(items), CHUNK):
            chunk = items[i : i + CHUNK]
            out += self._query(
                self.events, self._events_sql, ([k for k, _ in chunk], [v for _, v in chunk])
            )
        return out


class SQLiteBulkReader:
    SQLITE_CHUNK = 500  # below SQLite's default limit on host parameters

    def __init__(self, events: SQLiteAggregateRecorder, snapshots: SQLiteAggregateRecorder | None):
        self.events = events
        self.snapshots = snapshots

    def _rows(
        self, recorder: SQLiteAggregateRecorder, ids: Sequence[UUID], order: str
    ) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for i in range(0, len(ids), self.SQLITE_CHUNK):
            chunk = [x.hex for x in ids[i : i + self.SQLITE_CHUNK]]
            sql = (
                f"SELECT originator_id, originator_version, topic, state FROM {recorder.events_table_name} "
                f"WHERE originator_id IN ({','.join('?' * len(chunk))}) ORDER BY originator_id, originator_version {order}"
            )
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(sql, chunk)
                out += [
                    StoredEvent(
                        recorder.convert_originator_id(r["originator_id"]),
                        r["originator_version"],
                        r["topic"],
                        r["state"],
                    )
                    for r in c.fetchall()
                ]
        return out

    def latest_snapshots(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        if self.snapshots is None:
            return []
        newest: dict[Any, StoredEvent] = {}
        for s in self._rows(self.snapshots, ids, "DESC"):
            newest.setdefault(s.originator_id, s)
        return list(newest.values())

    def events_after(self, versions: dict[UUID, int]) -> list[StoredEvent]:
        rows = self._rows(self.events, list(versions), "ASC")
        return [r for r in rows if r.originator_version > versions[r.originator_id]]


def bulk_reader_for(events: AggregateRecorder, snapshots: AggregateRecorder | None) -> Any:
    if isinstance(events, PostgresAggregateRecorder):
        assert snapshots is None or isinstance(snapshots, PostgresAggregateRecorder)
        return PostgresBulkReader(events, snapshots)
    if isinstance(events, SQLiteAggregateRecorder):
        assert snapshots is None or isinstance(snapshots, SQLiteAggregateRecorder)
        return SQLiteBulkReader(events, snapshots)
    return None
