"""The main job (`dangphi demo`) runs to its balance check, and again on the same
database (each run opens the next month), also early in a month: a review found its
statement dated the 10th of the month it opens, which the ledger refuses as more than
three days ahead from the 1st to the 6th, and always from the second run on."""

from __future__ import annotations

from freezegun import freeze_time

from tests.e2e.conftest import run


def test_the_demo_runs_twice_early_in_a_month(db_url: str) -> None:
    with freeze_time("2026-12-02 10:00:00+07:00", ignore=["psycopg_pool"]):
        for _ in range(2):
            result = run(db_url, "demo --fast")
            assert result.exit_code == 0, result.output
            assert "Balanced: members' payments equal" in " ".join(result.output.split())
