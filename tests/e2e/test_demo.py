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


def test_the_demo_says_when_it_may_open_no_more_months(db_url: str) -> None:
    """Each run opens the next month; a month more than 12 ahead is refused, so the 14th
    run on one database (the same day) says so and how to start again, exit 0."""
    from api.bootstrap import build_ledger
    from api.settings import load_settings

    with freeze_time("2026-12-02 10:00:00+07:00", ignore=["psycopg_pool"]):
        assert run(db_url, "demo --fast").exit_code == 0
        app = build_ledger(load_settings(db_url))
        try:  # the months the next runs would open, opened at once
            for n in range(1, 13):
                app.open_month(f"2027-{n:02d}")
        finally:
            app.close()
        result = run(db_url, "demo --fast")
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        assert "may open no more (at most 2027-12)" in said and "start again" in said
