"""Audit replay: rebuild every read model from the event log into a separate store and
compare it, table by table and row by row, with the live read models.

The separate store is a new PostgreSQL schema beside the ledger's (dropped afterwards)
or, for SQLite, a temporary file. Both builds read the same events up to the same
position; on a healthy ledger there is no difference at all. A difference names the
table, the row's key and both values.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from projections.base import REBUILD_PAGES, ReadModels
from projections.reads import MODELS
from projections.store import Row, Table, Views, views_for


@dataclass
class Difference:
    table: str
    key: tuple[Any, ...]
    live: Row | None
    replayed: Row | None


@dataclass
class ReplayReport:
    position: int
    events: int
    tables: dict[str, int] = field(default_factory=dict)  # rows compared per table
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _rows(views: Views, table: Table) -> list[Row]:
    order = ", ".join(table.columns)
    return [tuple(r) for r in views.query(f"SELECT * FROM {table.name} ORDER BY {order}")]


def compare(live: Views, replayed: Views, tables: list[Table], report: ReplayReport) -> None:
    for t in tables:
        a, b = _rows(live, t), _rows(replayed, t)
        report.tables[t.name] = max(len(a), len(b))
        if t.key:
            n = len(t.key)
            da = {r[:n]: r for r in a}
            db = {r[:n]: r for r in b}
            for key in sorted(set(da) | set(db), key=str):
                if da.get(key) != db.get(key):
                    report.differences.append(Difference(t.name, key, da.get(key), db.get(key)))
        else:
            # Append-only tables (moves): compared as multisets of rows.
            from collections import Counter

            ca, cb = Counter(a), Counter(b)
            for row in sorted(set(ca) | set(cb), key=str):
                if ca[row] != cb[row]:
                    report.differences.append(
                        Difference(
                            t.name,
                            row[:4],
                            row if ca[row] else None,
                            row if cb[row] else None,
                        )
                    )


def _scratch(app: Any) -> tuple[Views, Any]:
    """A separate empty store for the replay, and how to remove it afterwards."""
    datastore = app.recorder.datastore
    if isinstance(datastore, PostgresDatastore):
        env = app.env
        schema = f"{datastore.schema}_replay_{uuid.uuid4().hex[:8]}"[:63]
        with datastore.get_connection() as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
            conn.commit()
        scratch = PostgresDatastore(
            dbname=env.get("POSTGRES_DBNAME"),
            host=env.get("POSTGRES_HOST", "127.0.0.1"),
            port=env.get("POSTGRES_PORT", "5432"),
            user=env.get("POSTGRES_USER", ""),
            password=env.get("POSTGRES_PASSWORD", ""),
            schema=schema,
        )

        def remove() -> None:
            scratch.close()
            with datastore.get_connection() as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]
                conn.commit()

        return views_for(scratch, owns=False), remove
    if isinstance(datastore, SQLiteDatastore):
        fd, path = tempfile.mkstemp(prefix="dangphi-replay-", suffix=".sqlite3")
        os.close(fd)
        sqlite = SQLiteDatastore(path)

        def remove_file() -> None:
            sqlite.close()
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)

        return views_for(sqlite, owns=False), remove_file
    raise TypeError(f"no replay store for {type(datastore).__name__}")


def replay(app: Any, live: ReadModels) -> ReplayReport:
    """Rebuild into a scratch store, bring both to the same position, compare."""
    live.catch_up()
    scratch_views, remove = _scratch(app)
    try:
        scratch = ReadModels(app, MODELS, views=scratch_views)
        scratch.catch_up(flush_every=REBUILD_PAGES)
        events = max(scratch.seen, 0)  # the log it covered (events of no model's topic too)
        for _ in range(3):  # new events may arrive meanwhile: bring both to one position
            live.catch_up()
            scratch.catch_up()
            a, b = live.positions(), scratch.positions()
            if a == b:
                break
        report = ReplayReport(position=max(live.positions().values(), default=0), events=events)
        compare(live.views, scratch_views, [t for m in live.models for t in m.tables], report)
        return report
    finally:
        remove()
