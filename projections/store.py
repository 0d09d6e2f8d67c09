"""Where the read models live: tables beside the event log, and their tracking positions.

Rule: a read model's rows and its tracking position are written in ONE transaction
(`Views.write`), so a crash can never leave rows without the position that produced
them, or a position without its rows. The tracking table and the "position must
move forward" check are the `eventsourcing` library's own (`SQLiteTrackingRecorder`,
`PostgresTrackingRecorder`): if two processes catch up at the same time, the second
one's write fails on the tracking row and is rolled back whole.

The views use the application's own datastore (same SQLite file, same PostgreSQL
schema and connection pool) unless another is given (audit replay builds into a
separate schema or file). SQL is written once with `?` placeholders; the PostgreSQL
view turns them into `%s`.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.rows import tuple_row

Row = tuple[Any, ...]


class Table:
    """A read-model table: name, columns (with SQL types) and primary key."""

    def __init__(self, name: str, columns: Sequence[tuple[str, str]], key: Sequence[str]):
        self.name = name
        self.columns = [c for c, _ in columns]
        self.types = dict(columns)
        self.key = list(key)
        self.value_columns = [c for c in self.columns if c not in self.key]

    def create_sql(self, pg: bool) -> str:
        def sqltype(t: str) -> str:
            if pg and t == "INTEGER":
                return "BIGINT"
            return t

        cols = ", ".join(f"{c} {sqltype(t)}" for c, t in self.types.items())
        pk = f", PRIMARY KEY ({', '.join(self.key)})" if self.key else ""
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({cols}{pk})"

    def upsert_sql(self) -> str:
        cols = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        sql = f"INSERT INTO {self.name} ({cols}) VALUES ({marks})"
        if self.key and self.value_columns:
            sets = ", ".join(f"{c} = excluded.{c}" for c in self.value_columns)
            sql += f" ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets}"
        elif self.key:
            sql += f" ON CONFLICT ({', '.join(self.key)}) DO NOTHING"
        return sql

    def insert_sql(self) -> str:
        cols = ", ".join(self.columns)
        return f"INSERT INTO {self.name} ({cols}) VALUES ({', '.join('?' for _ in self.columns)})"


class Write:
    """What one read model writes in one transaction."""

    def __init__(self) -> None:
        self.upserts: dict[str, tuple[Table, list[Row]]] = {}
        self.inserts: dict[str, tuple[Table, list[Row]]] = {}
        self.deletes: list[tuple[str, Row]] = []

    def upsert(self, table: Table, row: Row) -> None:
        self.upserts.setdefault(table.name, (table, []))[1].append(row)

    def insert(self, table: Table, row: Row) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].append(row)

    def rows(self) -> int:
        return sum(len(r) for _, r in self.upserts.values()) + sum(
            len(r) for _, r in self.inserts.values()
        )


class Views:
    """The read models' storage: create tables, read, and write rows + tracking atomically."""

    pg = False

    def create_tables(self, tables: Iterable[Table], indexes: Iterable[str] = ()) -> None:
        raise NotImplementedError

    def prepare(
        self, models: Sequence[tuple[str, Sequence[Table]]], indexes: Iterable[str] = ()
    ) -> list[str]:
        """Create every model's tables, first dropping (with its tracking row, so it is
        built again from the log) each model one of whose tables exists with other
        columns than the code declares: a figure added to a model in a new release.
        One transaction, taken as a writer at once, so processes starting together check
        one after the other and a model is dropped once. Returns the models dropped."""
        raise NotImplementedError

    def write(self, name: str, position: int, write: Write, since: int | None = None) -> None:
        """Write a model's rows and its position in one transaction. `since`: the position
        the rows were built from. If another process moved the stored position meanwhile,
        `IntegrityError` and nothing is written: the library's tracking insert only refuses
        a position that does not move forward, so a process that had read further than the
        winner wrote the winner's events a second time (a helper's check found balances
        counting bank lines twice with two API workers)."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def position(self, name: str) -> int | None:
        raise NotImplementedError

    def positions(self) -> dict[str, int]:
        """Every read model's tracked position, in one query."""
        raise NotImplementedError

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` is one of `values`: an array parameter on PostgreSQL (one bound value,
        however many), a list of placeholders on SQLite (its limit is 32,766)."""
        if self.pg:
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({','.join('?' for _ in values)})", list(values)

    def drop(self, tables: Iterable[Table], name: str) -> None:
        raise NotImplementedError

    def analyze(self, tables: Iterable[Table]) -> None:
        """Refresh the query planner's statistics of `tables` (after a bulk build)."""
        raise NotImplementedError

    def max_notification_sql(self, events_table: str) -> str:
        """The query of the last notification id in the application's log."""
        return f"SELECT MAX({'notification_id' if self.pg else 'rowid'}) FROM {events_table}"

    def max_notification_id(self, events_table: str) -> int:
        """The last notification id in the application's log (0 when empty)."""
        rows = self.query(self.max_notification_sql(events_table))
        return int(rows[0][0] or 0)

    def query_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """Several queries, in order; on PostgreSQL in one round trip."""
        return [self.query(sql, params) for sql, params in queries]

    def close(self) -> None:
        """Views built on the application's datastore leave it to the application."""


class SQLiteViews(SQLiteTrackingRecorder, Views):
    pg = False

    def __init__(self, datastore: SQLiteDatastore, *, owns: bool = False, create: bool = True):
        super().__init__(datastore)
        self._owns = owns
        if create:
            self.create_table()

    def create_tables(self, tables: Iterable[Table], indexes: Iterable[str] = ()) -> None:
        with self.datastore.transaction(commit=True) as c:
            for t in tables:
                c.execute(t.create_sql(pg=False))
            for ix in indexes:
                c.execute(ix)

    def prepare(
        self, models: Sequence[tuple[str, Sequence[Table]]], indexes: Iterable[str] = ()
    ) -> list[str]:
        dropped = []
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM tracking WHERE 0")  # the write lock, before looking
            for name, tables in models:
                found = []
                for t in tables:
                    c.execute(f"PRAGMA table_info({t.name})")
                    found.append([str(r[1]) for r in c.fetchall()])
                if _differs(found, tables):
                    for t in tables:
                        c.execute(f"DROP TABLE IF EXISTS {t.name}")
                    c.execute("DELETE FROM tracking WHERE application_name = ?", [name])
                    dropped.append(name)
            for t in (t for _, tables in models for t in tables):
                c.execute(t.create_sql(pg=False))
            for ix in indexes:
                c.execute(ix)
        return dropped

    def write(self, name: str, position: int, write: Write, since: int | None = None) -> None:
        with self.datastore.transaction(commit=True) as c:
            for sql, params in write.deletes:
                c.execute(sql, params)
            for table, rows in write.upserts.values():
                c.executemany(table.upsert_sql(), rows)
            for table, rows in write.inserts.values():
                c.executemany(table.insert_sql(), rows)
            if since is not None:  # read once writing holds the database's write lock (a
                # read first made two writers each wait on the other: "database is locked");
                # a write statement takes it even with nothing to write
                c.execute("DELETE FROM tracking WHERE 0")
                c.execute(
                    "SELECT MAX(notification_id) AS position FROM tracking "
                    "WHERE application_name = ?",
                    [name],
                )
                _check_since(name, c.fetchone(), since)
            self._insert_tracking(c, Tracking(name, position))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, list(params))
            return [tuple(r) for r in c.fetchall()]

    def position(self, name: str) -> int | None:
        return self.max_tracking_id(name)

    def positions(self) -> dict[str, int]:
        return {
            str(a): int(n)
            for a, n in self.query("SELECT application_name, notification_id FROM tracking")
        }

    def drop(self, tables: Iterable[Table], name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            for t in tables:
                c.execute(f"DROP TABLE IF EXISTS {t.name}")
            c.execute("DELETE FROM tracking WHERE application_name = ?", [name])

    def analyze(self, tables: Iterable[Table]) -> None:
        names = [t.name for t in tables]
        if names:
            with self.datastore.transaction(commit=True) as c:
                for name in names:
                    c.execute(f"ANALYZE {name}")

    def close(self) -> None:
        if self._owns:
            self.datastore.close()


def _differs(found: list[list[str]], tables: Sequence[Table]) -> bool:
    """A model built by another release: a table of it with other columns, or one table
    there and another missing (a table added to the model), so what it holds was built
    without what the code now declares. None there at all: a new model, nothing to drop."""
    if not any(found):
        return False
    return any(cols != t.columns for cols, t in zip(found, tables, strict=True))


_MARK = re.compile(r"\?")


def pg_sql(sql: str) -> str:
    return _MARK.sub("%s", sql)


def lock_ddl(curs: Any, schema: str) -> None:
    """Serialise creating tables in one schema across processes, for the rest of the
    transaction: `serve --workers 2` starts its workers at once, and two concurrent
    `CREATE TABLE IF NOT EXISTS` of the same table can both pass the check and one then
    fails on PostgreSQL's catalogue (a worker crashed this way on a fresh schema)."""
    curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"dangphi-ddl:{schema}"])


class PostgresViews(PostgresTrackingRecorder, Views):
    pg = True

    def __init__(self, datastore: PostgresDatastore, *, owns: bool = False, create: bool = True):
        super().__init__(datastore, tracking_table_name="rm_tracking")
        self._owns = owns
        self.schema = datastore.schema
        self._configured: weakref.WeakSet[Any] = weakref.WeakSet()
        if create:
            self.create_table()

    def _t(self, sql: str) -> str:
        return pg_sql(sql)

    def _create_table(self, curs: Any) -> None:
        lock_ddl(curs, self.schema)
        # The library looked for the tracking table before this lock: another process
        # may have made it (with its migration row) since. Look again, so that row is not
        # inserted twice.
        name = f'"{self.schema}"."{self.tracking_table_name}"'
        curs.execute("SELECT to_regclass(%s) IS NOT NULL AS present", [name])
        row = curs.fetchone()
        if row is not None and row["present"] and not self.tracking_table_exists:
            curs.execute(self.max_tracking_id_statement, (self.table_migration_identifier,))
            found = curs.fetchone()
            self.tracking_table_exists = True
            self.tracking_migration_previous = found["max"] if found else None
            self.tracking_migration_current = self.tracking_migration_previous
        super()._create_table(curs)

    def create_tables(self, tables: Iterable[Table], indexes: Iterable[str] = ()) -> None:
        with self.datastore.transaction(commit=True) as c:
            lock_ddl(c, self.schema)
            c.execute(f'SET LOCAL search_path TO "{self.schema}"')
            for t in tables:
                c.execute(t.create_sql(pg=True))  # type: ignore[call-overload]
            for ix in indexes:
                c.execute(ix)  # type: ignore[call-overload]

    def prepare(
        self, models: Sequence[tuple[str, Sequence[Table]]], indexes: Iterable[str] = ()
    ) -> list[str]:
        dropped = []
        with self.datastore.transaction(commit=True) as c:
            lock_ddl(c, self.schema)
            c.execute(f'SET LOCAL search_path TO "{self.schema}"')
            for name, tables in models:
                found = []
                for t in tables:
                    c.execute(
                        "SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                        [self.schema, t.name],
                    )
                    found.append([str(r["column_name"]) for r in c.fetchall()])
                if _differs(found, tables):
                    # its writers wait: a catch-up takes this model's lock (`write`)
                    c.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(%s))",  # type: ignore[call-overload]
                        [f"{self.schema}.{name}"],
                    )
                    for t in tables:
                        c.execute(f"DROP TABLE IF EXISTS {t.name}")  # type: ignore[call-overload]
                    c.execute(
                        f"DELETE FROM {self.tracking_table_name} WHERE application_name = %s",  # type: ignore[call-overload]
                        [name],
                    )
                    dropped.append(name)
            for t in (t for _, tables in models for t in tables):
                c.execute(t.create_sql(pg=True))  # type: ignore[call-overload]
            for ix in indexes:
                c.execute(ix)  # type: ignore[call-overload]
        return dropped

    def write(self, name: str, position: int, write: Write, since: int | None = None) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(f'SET LOCAL search_path TO "{self.schema}"')
            # One writer per read model at a time: two processes catching up at once
            # would otherwise upsert the same rows in different orders and deadlock; the
            # second now waits, then finds the position moved (or fails on the tracking
            # row) and starts again.
            c.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",  # type: ignore[call-overload]
                [f"{self.schema}.{name}"],
            )
            if since is not None:
                c.execute(
                    "SELECT MAX(notification_id) AS position FROM rm_tracking WHERE application_name = %s",  # type: ignore[call-overload]
                    [name],
                )
                _check_since(name, c.fetchone(), since)
            for sql, params in write.deletes:
                c.execute(pg_sql(sql), params)  # type: ignore[call-overload]
            for table, rows in write.upserts.values():
                c.executemany(pg_sql(table.upsert_sql()), _nul_free(rows))  # type: ignore[call-overload]
            for table, rows in write.inserts.values():
                with c.copy(  # type: ignore[call-overload]
                    f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN"
                ) as copy:
                    for row in _nul_free(rows):
                        copy.write_row(row)
            self._insert_tracking(c, Tracking(name, position))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.query_many([(sql, params)])[0]

    def query_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The queries, one statement each in autocommit on one of the application's
        connections (the library makes them autocommit): one round trip a query (not BEGIN, SETs, the query and COMMIT).
        The connection's search path (this schema, the datastore's own) and `jit = off`
        are set once per connection. Rows are plain tuples (a dict row would fold
        repeated column names: SUM(a), SUM(b))."""
        with self.datastore.get_connection() as conn:  # the library's are autocommit
            if conn not in self._configured:
                conn.execute(f'SET search_path TO "{self.schema}"')  # type: ignore[arg-type]
                conn.execute("SET jit = off")
                self._configured.add(conn)
            with conn.cursor(row_factory=tuple_row) as c:
                return [
                    list(c.execute(pg_sql(sql), list(params)).fetchall())  # type: ignore[arg-type]
                    for sql, params in queries
                ]

    def position(self, name: str) -> int | None:
        return self.max_tracking_id(name)

    def positions(self) -> dict[str, int]:
        return {
            str(a): int(n)
            for a, n in self.query("SELECT application_name, notification_id FROM rm_tracking")
        }

    def drop(self, tables: Iterable[Table], name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(f'SET LOCAL search_path TO "{self.schema}"')
            for t in tables:
                c.execute(f"DROP TABLE IF EXISTS {t.name}")  # type: ignore[call-overload]
            c.execute(
                f'DELETE FROM "{self.schema}".rm_tracking WHERE application_name = %s',  # type: ignore[call-overload]
                [name],
            )

    def analyze(self, tables: Iterable[Table]) -> None:
        names = [t.name for t in tables]
        if names:
            with self.datastore.get_connection() as conn:  # autocommit: one statement each
                for name in names:
                    conn.execute(f'ANALYZE "{self.schema}".{name}')  # type: ignore[arg-type]

    def close(self) -> None:
        if self._owns:
            self.datastore.close()


def views_for(datastore: Any, *, owns: bool = False, create: bool = True) -> Views:
    if isinstance(datastore, PostgresDatastore):
        return PostgresViews(datastore, owns=owns, create=create)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteViews(datastore, owns=owns, create=create)
    raise TypeError(f"no read-model storage for {type(datastore).__name__}")


def _nul_free(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """Rows as PostgreSQL text can hold them: a NUL in a text (a bank's memo, a name)
    becomes U+FFFD. The log keeps the text as it came (JSON escapes it); unchanged, one
    such value failed every catch-up of the model, so every read, for good."""
    for row in rows:
        if any(type(v) is str and "\x00" in v for v in row):
            row = [v.replace("\x00", "\ufffd") if type(v) is str else v for v in row]
        yield row


def _check_since(name: str, row: Any, since: int) -> None:
    """The stored position is still the one the rows were built from (none counts as 0)."""
    value = None if row is None else row["position"] if isinstance(row, dict) else row[0]
    stored = 0 if value is None else int(value)
    if stored != since:
        raise IntegrityError(
            f"read model {name}: stored position {stored}, rows built from {since}"
        )
