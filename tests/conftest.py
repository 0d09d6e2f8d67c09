"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests get a fresh schema in the `test` database, dropped afterwards,
so runs never see each other's data. In CI (`CI=true`) PostgreSQL is required:
if it cannot be reached the tests fail instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from freezegun import freeze_time

from api.bootstrap import build_ledger
from api.settings import load_settings
from ledger.app import DuesLedger

PG_CONNINFO = os.environ.get("DANGPHI_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=root")
PG_URL = os.environ.get("DANGPHI_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")
TEST_KEY = "9zp4ZEZcxiR0v0ZyE4Jf2WAtOrkZ2qK0cJ9dm6FKm9M="


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_CONNINFO, connect_timeout=3):
            return None
    except psycopg.Error as e:
        return str(e)


@pytest.fixture(scope="session")
def pg_ready() -> None:
    problem = _pg_available()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
    pytest.skip(f"PostgreSQL unreachable: {problem}")


@pytest.fixture
def pg_schema(pg_ready: None) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3"
    else:
        schema = request.getfixturevalue("pg_schema")
        yield f"{PG_URL}?schema={schema}"


@pytest.fixture(autouse=True)
def _cipher_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGPHI_CIPHER_KEY", TEST_KEY)


@pytest.fixture
def frozen() -> Iterator[object]:
    # The pool keeps its own clock: frozen, every close would wait out its timeout.
    with freeze_time("2026-12-15 10:00:00+07:00", ignore=["psycopg_pool"]) as f:
        yield f


@pytest.fixture
def ledger(db_url: str, frozen: object) -> Iterator[DuesLedger]:
    app = build_ledger(load_settings(db_url))
    yield app
    app.close()
