"""Bulk readers: many aggregates' snapshots and events in a few queries.

The ledger's `StoredEventReader` port, for the two storages the project runs
on. PostgreSQL looks each id up in the primary key (`unnest(ids, versions)`
joined LATERAL, so the cost follows the ids asked for, not the size of the
table); SQLite reads `IN (...)` chunks. `ledger.loading.load_many` puts each
aggregate's events in version order itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    InterfaceError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTransaction,
)
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

from api.audit import (
    CHAIN_COLUMNS,
    GENESIS,
    ChainRow,
    canonical_id,
    chain_rows,
    chain_table,
    digest,
    linked,
)
from projections.store import lock_ddl

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
        # ORDER BY keeps the subquery a lookup per id: without it PostgreSQL pulled it up
        # into a hash join over every event in the store.
        self._topics_sql = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS k(id, v) CROSS JOIN LATERAL ("
            "SELECT originator_id, originator_version, topic FROM {s}.{t} "
            "WHERE originator_id = k.id AND originator_version > k.v "
            "ORDER BY originator_version) e"
        ).format(s=schema, t=Identifier(events.events_table_name))
        self._first_sql = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {s}.{t} "
            "WHERE originator_id = ANY(%s::uuid[]) AND originator_version = 1"
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

    def first_events(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for i in range(0, len(ids), CHUNK):
            out += self._query(self.events, self._first_sql, (list(ids[i : i + CHUNK]),))
        return out

    def topics_after(self, versions: dict[UUID, int]) -> list[tuple[UUID, int, str]]:
        items = list(versions.items())
        out: list[tuple[UUID, int, str]] = []
        for i in range(0, len(items), CHUNK):
            chunk = items[i : i + CHUNK]
            with (
                self.events.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor() as curs,
            ):
                curs.execute("SET LOCAL jit = off")
                curs.execute(self._topics_sql, ([k for k, _ in chunk], [v for _, v in chunk]))
                out += [
                    (r["originator_id"], r["originator_version"], r["topic"])
                    for r in curs.fetchall()
                ]
        return out


class SQLiteBulkReader:
    SQLITE_CHUNK = 500  # below SQLite's default limit on host parameters

    def __init__(self, events: SQLiteAggregateRecorder, snapshots: SQLiteAggregateRecorder | None):
        self.events = events
        self.snapshots = snapshots

    def _rows(
        self, recorder: SQLiteAggregateRecorder, ids: Sequence[UUID], order: str, where: str = ""
    ) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for i in range(0, len(ids), self.SQLITE_CHUNK):
            chunk = [x.hex for x in ids[i : i + self.SQLITE_CHUNK]]
            sql = (
                f"SELECT originator_id, originator_version, topic, state FROM {recorder.events_table_name} "
                f"WHERE originator_id IN ({','.join('?' * len(chunk))}){where} "
                f"ORDER BY originator_id, originator_version {order}"
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

    def first_events(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        return self._rows(self.events, ids, "ASC", " AND originator_version = 1")

    def topics_after(self, versions: dict[UUID, int]) -> list[tuple[UUID, int, str]]:
        # A local file: reading the states too costs little here (PostgreSQL's skips them).
        return [
            (UUID(str(s.originator_id)), s.originator_version, s.topic)
            for s in self.events_after(versions)
        ]


def bulk_reader_for(events: AggregateRecorder, snapshots: AggregateRecorder | None) -> Any:
    if isinstance(events, PostgresAggregateRecorder):
        assert snapshots is None or isinstance(snapshots, PostgresAggregateRecorder)
        return PostgresBulkReader(events, snapshots)
    if isinstance(events, SQLiteAggregateRecorder):
        assert snapshots is None or isinstance(snapshots, SQLiteAggregateRecorder)
        return SQLiteBulkReader(events, snapshots)
    return None


class ChainBroken(PersistenceError):
    """Raised when new notification ids would not follow the head of the hash chain: the
    log was altered outside the application (`dangphi audit verify` names where)."""


class DangphiPostgresRecorder(PostgresApplicationRecorder):
    """The library's insert semantics, written with `COPY`, and extending the hash chain.

    Same semantics as `PostgresApplicationRecorder.insert_events`: one transaction
    that takes the EXCLUSIVE table lock (so notification ids commit in order and
    projections never skip an event), NOTIFYs, inserts and returns the notification
    ids. The differences:

    - no pipeline mode: psycopg 3.3.9 deadlocked (client and server each waiting,
      the server in ClientRead) on a multi-megabyte pipelined insert, such as
      opening a province's month in one save (cf. psycopg issue #685);
    - the rows go in with binary `COPY`, not `INSERT ... unnest(array)`: building
      and parsing the array of composites cost more than the rows themselves. COPY
      returns nothing, so, under the lock, the transaction first takes as many
      numbers from the table's own sequence as it has events (one `setval`) and
      writes them as the notification ids: what the column's default would have
      given, as no other writer can take numbers while the lock is held. A
      duplicate (id, version) still fails the whole transaction (IntegrityError);
    - in the same transaction, under the same lock, it appends one row per event to
      the hash chain (`{events}_chain`, docs/audit.md), also by COPY: the head read
      here cannot change before the commit, because every writer holds the lock.
      The events' digests (hashing every state) are computed before the
      transaction begins, so the lock is held only for the cheap links.

    Chosen with `APPLICATION_RECORDER_TOPIC` (the library's own setting), so the
    library's code is used, not patched. `POSTGRES_ENABLE_DB_FUNCTIONS` stays off.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_events_statement = binary_insert(
            self, " RETURNING notification_id, originator_id, originator_version"
        )
        s, t = Identifier(datastore.schema), Identifier(events_table_name)
        c = Identifier(chain_table(events_table_name))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.{c} (notification_id bigint PRIMARY KEY, "
                "originator_id text NOT NULL, originator_version bigint NOT NULL, "
                "topic text NOT NULL, digest bytea NOT NULL, hash bytea NOT NULL)"
            ).format(s=s, c=c)
        )
        self._chain_head = SQL(
            "SELECT notification_id, hash FROM {s}.{c} ORDER BY notification_id DESC LIMIT 1"
        ).format(s=s, c=c)
        self._chain_copy = SQL(
            "COPY {s}.{c} (" + CHAIN_COLUMNS + ") FROM STDIN (FORMAT BINARY)"
        ).format(s=s, c=c)
        self._events_copy = SQL(
            "COPY {s}.{t} (notification_id, originator_id, originator_version, topic, state) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(s=s, t=t)
        # numbers n - k + 1 .. n from the sequence the table's default draws on, k at once
        self._take_ids = SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
            "nextval(pg_get_serial_sequence(%s, 'notification_id')) + %s - 1)"
        )
        self._qualified = f'"{datastore.schema}"."{events_table_name}"'
        self._row_types = [
            "int8",
            "uuid" if datastore.originator_id_type == "uuid" else "text",
            "int8",
            "text",
            "bytea",
        ]
        self._unchained = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {s}.{t} WHERE notification_id > %s AND notification_id < %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(s=s, t=t)

    def create_table(self) -> None:
        """The URL's schema first, if it is new (the library's types and tables go in
        it), then the library's types and tables and the chain."""
        schema = self.datastore.schema
        with self.datastore.transaction(commit=True) as curs:
            lock_ddl(curs, schema)
            curs.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
            if curs.fetchone() is None:  # asked only when missing: it needs CREATE on the db
                curs.execute(SQL("CREATE SCHEMA {s}").format(s=Identifier(schema)))
        super().create_table()

    def _create_table(self, curs: Any) -> None:
        """The tables, with creation serialised across processes starting at once."""
        lock_ddl(curs, self.datastore.schema)
        super()._create_table(curs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.datastore.enable_db_functions or not stored_events:
            return super().insert_events(stored_events, **kwargs)
        digests = {(e.originator_id, e.originator_version): d for e, d in digested(stored_events)}
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._lock_table(curs)
            self._notify_channel(curs)
            q = self._qualified
            curs.execute(self._take_ids, (q, q, len(stored_events)))
            row = curs.fetchone()
            last = None if row is None else next(iter(row.values()))
            if last is None:  # a table made otherwise than by this recorder
                raise ProgrammingError(f"{q}.notification_id draws on no sequence")
            first = int(last) - len(stored_events) + 1
            inserted = [
                (first + i, e.originator_id, e.originator_version)
                for i, e in enumerate(stored_events)
            ]
            with curs.copy(self._events_copy) as copy:
                copy.set_types(self._row_types)
                for (n, oid, version), e in zip(inserted, stored_events, strict=True):
                    copy.write_row((n, oid, version, e.topic, e.state))
            self._extend_chain(curs, inserted, digests)
            return [r[0] for r in inserted]

    def _extend_chain(
        self, curs: Any, inserted: list[tuple[int, Any, int]], digests: dict[Any, Digested]
    ) -> None:
        inserted = sorted(inserted)
        first = inserted[0][0]
        curs.execute(self._chain_head)
        head = curs.fetchone()
        if head is None:
            previous = self._backfill(curs, first)
        elif head["notification_id"] >= first:
            raise chain_broken(head["notification_id"], first)
        else:
            previous = bytes(head["hash"])
        rows = [(n, *digests[(oid, version)]) for n, oid, version in inserted]
        self._insert_chain(curs, linked(previous, rows))

    def _backfill(self, curs: Any, before: int) -> bytes:
        """Chain the events recorded before the chain existed (the first write after the
        upgrade does it, under the lock); returns the hash the new events follow."""
        previous, after = GENESIS, 0
        while True:
            curs.execute(self._unchained, (after, before, BACKFILL_PAGE), binary=True)
            found = curs.fetchall()
            if not found:
                return previous
            chained = chain_rows(
                previous,
                [
                    (
                        r["notification_id"],
                        canonical_id(r["originator_id"]),
                        r["originator_version"],
                        r["topic"],
                        bytes(r["state"]),
                    )
                    for r in found
                ],
            )
            self._insert_chain(curs, chained)
            previous, after = chained[-1].hash, found[-1]["notification_id"]

    def _insert_chain(self, curs: Any, rows: list[ChainRow]) -> None:
        with curs.copy(self._chain_copy) as copy:
            copy.set_types(["int8", "text", "int8", "text", "bytea", "bytea"])
            for r in rows:
                copy.write_row(r.values())


BACKFILL_PAGE = 5000


def chain_broken(head: int, first: int) -> ChainBroken:
    return ChainBroken(
        f"new notification id {first} does not follow the hash chain's head {head}: "
        "the event log was altered outside the application; run `dangphi audit verify`"
    )


Digested = tuple[str, int, str, bytes]  # canonical originator id, version, topic, digest


def digested(events: Sequence[StoredEvent]) -> list[tuple[StoredEvent, Digested]]:
    """Each event's content digest, computed before the write transaction begins: hashing
    every state is the costly part of the chain and needs no lock (docs/audit.md)."""
    out = []
    for e in events:
        oid = canonical_id(e.originator_id)
        out.append(
            (
                e,
                (
                    oid,
                    e.originator_version,
                    e.topic,
                    digest(oid, e.originator_version, e.topic, e.state),
                ),
            )
        )
    return out


class _BeginImmediate(SQLiteTransaction):
    """The library's SQLite transaction, begun IMMEDIATE: the write lock is taken before
    the chain's head is read, so no other process can append in between (a deferred
    transaction would read first and fail, or race, when it came to write)."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise OperationalError(e) from e
        return cursor


class DangphiSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder, extending the hash chain in the same
    write transaction (docs/audit.md).

    Notification ids are SQLite rowids. Without AUTOINCREMENT SQLite would reuse the
    id of a deleted last row, so this recorder gives ids itself, after both the
    largest rowid and the chain's head: like PostgreSQL's sequence, an id is never
    handed out twice, and a deleted event stays visible as a hole the chain names.
    """

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        t, c = self.events_table_name, chain_table(self.events_table_name)
        self._insert = (
            f"INSERT INTO {t} (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)"
        )
        self._chain_head = (
            f"SELECT notification_id, hash FROM {c} ORDER BY notification_id DESC LIMIT 1"
        )
        self._chain_insert = f"INSERT INTO {c} ({CHAIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        self._unchained = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {t} "
            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {chain_table(self.events_table_name)} ("
            "notification_id INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, topic TEXT NOT NULL, "
            "digest BLOB NOT NULL, hash BLOB NOT NULL)",
        ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        digests = [d for _, d in digested(stored_events)]
        with (
            self.datastore.get_connection(commit=True) as conn,
            _BeginImmediate(conn, commit=True) as curs,
            curs,
        ):
            return self._insert_chained(curs, stored_events, digests)

    def _insert_chained(
        self, c: SQLiteCursor, events: Sequence[StoredEvent], digests: list[Digested]
    ) -> list[int]:
        c.execute(self._chain_head)
        head = c.fetchone()
        c.execute(self.select_max_notification_id_statement)
        last = c.fetchone()[0] or 0
        if head is None:
            previous, head_id = self._backfill(c, last), last
        else:
            previous, head_id = bytes(head["hash"]), head["notification_id"]
        start = max(last, head_id) + 1
        ids = list(range(start, start + len(events)))
        c.executemany(
            self._insert,
            [
                (nid, _sqlite_id(e.originator_id), e.originator_version, e.topic, e.state)
                for nid, e in zip(ids, events, strict=True)
            ],
        )
        self._insert_chain(
            c, linked(previous, [(n, *d) for n, d in zip(ids, digests, strict=True)])
        )
        return ids

    def _backfill(self, c: SQLiteCursor, last: int) -> bytes:
        previous, after = GENESIS, 0
        while True:
            c.execute(self._unchained, (after, last, BACKFILL_PAGE))
            found = c.fetchall()
            if not found:
                return previous
            chained = chain_rows(
                previous,
                [
                    (
                        r[0],
                        canonical_id(r["originator_id"]),
                        r["originator_version"],
                        r["topic"],
                        bytes(r["state"]),
                    )
                    for r in found
                ],
            )
            self._insert_chain(c, chained)
            previous, after = chained[-1].hash, found[-1][0]

    def _insert_chain(self, c: SQLiteCursor, rows: list[ChainRow]) -> None:
        c.executemany(
            self._chain_insert,
            [r.values() for r in rows],
        )


def _sqlite_id(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


RECORDER_TOPIC = "api.storage:DangphiPostgresRecorder"
SQLITE_RECORDER_TOPIC = "api.storage:DangphiSQLiteRecorder"


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
