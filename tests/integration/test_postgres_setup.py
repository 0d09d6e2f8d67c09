"""Starting on PostgreSQL: a schema named in the URL that does not exist yet is created,
and several processes starting at once on a fresh schema (`serve --workers 2`) all start.

Checks by an operator found both: every command failed with 'schema … does not exist'
until it was made by hand, and one of two workers crashed creating the read models'
tables on a fresh schema (concurrent `CREATE TABLE IF NOT EXISTS`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from api.bootstrap import build_ledger
from api.settings import load_settings
from projections.reads import Reads
from tests.conftest import PG_CONNINFO, PG_URL


@pytest.fixture
def new_schema(pg_ready: None) -> Iterator[str]:
    name = f"t_new_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def tables_in(schema: str) -> set[str]:
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [schema],
        ).fetchall()
    return {r[0] for r in rows}


def test_a_schema_that_does_not_exist_yet_is_created(new_schema: str) -> None:
    assert tables_in(new_schema) == set()
    app = build_ledger(load_settings(f"{PG_URL}?schema={new_schema}"))
    try:
        assert {"duesledger_events", "duesledger_snapshots"} <= tables_in(new_schema)
        assert app.root_codes() == []
    finally:
        app.close()


def test_workers_starting_at_once_on_a_fresh_schema_all_start(new_schema: str) -> None:
    url = f"{PG_URL}?schema={new_schema}"
    workers = 4
    start = threading.Barrier(workers)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            app = build_ledger(load_settings(url))
            reads = Reads(app)
            reads.close()
            app.close()
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert {"duesledger_events", "rm_org", "rm_tracking"} <= tables_in(new_schema)
