"""Fixtures shared by the property tests that build whole ledgers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_invariants import Factory, on_postgres, on_sqlite


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """A factory of ledgers, each in its own new SQLite file or PostgreSQL schema."""
    if request.param == "postgres":
        request.getfixturevalue("pg_ready")
        return on_postgres
    return lambda: on_sqlite(tmp_path)
