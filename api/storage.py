"""Bulk readers: many aggregates' snapshots and events in a few queries.

The ledger's `StoredEventReader` port, for the two storages the project runs
on. PostgreSQL looks each id up in the primary key (`unnest(ids, versions)`
joined LATERAL, so the cost follows the ids asked for, not the size of the
table); SQLite reads `IN (...)` chunks. `ledger.loading.load_many` puts each
aggregate's events in version order itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

CHUNK = 5000


class PostgresBulkReader:
    def __init__(
        self, events: PostgresAggregateRecorder, snapshots: PostgresAggregateRecorder | None
    ):
        self.events = events
        self.snapshots = snapshots
        schema = Identifier(events.datastore.schema)
        # A plain join was planned as a merge join over the whole primary key index
        # (every event of every aggregate), slower as the store grows.
        self._events_sql = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS k(id, v) CROSS JOIN LATERAL ("
            "SELECT originator_id, originator_version, topic, state FROM {s}.{t} "
            "WHERE originator_id = k.id AND originator_version > k.v "
            "ORDER BY originator_version) e"
        ).format(s=schema, t=Identifier(events.events_table_name))
        self._snap_sql = (
            SQL(
                "SELECT s.originator_id, s.originator_version, s.topic, s.state "
                "FROM unnest(%s::uuid[]) AS k(id) CROSS JOIN LATERAL ("
                "SELECT originator_id, originator_version, topic, state FROM {s}.{t} "
                "WHERE originator_id = k.id ORDER BY originator_version DESC LIMIT 1) s"
            ).format(s=schema, t=Identifier(snapshots.events_table_name))
            if snapshots
            else None
        )

    def _query(
        self, recorder: PostgresAggregateRecorder, sql: Any, params: Any
    ) -> list[StoredEvent]:
        with (
            recorder.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            # The planner's estimates for these joins are huge, so PostgreSQL JIT-compiles
            # them (about 0.1 s a query, more than the query itself): not for these reads.
            curs.execute("SET LOCAL jit = off")
            # Binary results: `state` (bytea) arrives as raw bytes instead of hex text
            # the server encodes and the client decodes (a third off a province's read).
            curs.execute(sql, params, binary=True)
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


class DangphiPostgresRecorder(PostgresApplicationRecorder):
    """The library's insert path, unpipelined, with the events array sent in binary.

    Same semantics as `PostgresApplicationRecorder.insert_events`: one transaction
    that takes the EXCLUSIVE table lock (so notification ids commit in order and
    projections never skip an event), NOTIFYs, inserts with `unnest` and returns the
    notification ids. Two differences, both measured:

    - no pipeline mode: psycopg 3.3.9 deadlocked (client and server each waiting,
      the server in ClientRead) on a multi-megabyte pipelined insert, such as
      opening a province's month in one save (cf. psycopg issue #685);
    - the composite array parameter is sent in binary (`%b`): converting it to text
      was about a fifth of opening a month.

    Chosen with `APPLICATION_RECORDER_TOPIC` (the library's own setting), so the
    library's code is used, not patched. `POSTGRES_ENABLE_DB_FUNCTIONS` stays off.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_events_statement = binary_insert(self, " RETURNING notification_id")

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.datastore.enable_db_functions or not stored_events:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)


RECORDER_TOPIC = "api.storage:DangphiPostgresRecorder"


def binary_snapshot_inserts(recorder: AggregateRecorder | None) -> None:
    """The snapshot recorder's insert with its array sent in binary, as the events' is
    (DangphiPostgresRecorder): the library's text form escaped every snapshot's JSON
    (a fifth of importing a large statement, measured). Same statement otherwise."""
    if not isinstance(recorder, PostgresAggregateRecorder) or isinstance(
        recorder, PostgresApplicationRecorder
    ):
        return
    recorder.insert_events_statement = binary_insert(recorder)


def binary_insert(recorder: PostgresAggregateRecorder, returning: str = "") -> Composed:
    """The library's insert of an array of stored events, the array sent in binary."""
    return SQL(
        "INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version, topic, state "
        "FROM unnest(%b::{schema}.{stored_event_type}[])" + returning
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
        stored_event_type=Identifier(recorder.stored_event_type_name),
    )
