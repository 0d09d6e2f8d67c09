"""The read models through the CLI: point in time, roll-ups through a restructured tree,
rebuild and audit replay (which catches a read-model row changed behind its back)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg

from api.bootstrap import build_ledger
from api.settings import load_settings
from tests.conftest import PG_CONNINFO
from tests.e2e.conftest import as_json, ok, refused, run


def execute(db_url: str, sql: str) -> None:
    """Change the database directly, as someone outside the application would."""
    if db_url.startswith("sqlite:///"):
        with sqlite3.connect(db_url[len("sqlite:///") :]) as conn:
            conn.execute(sql)
        return
    schema = parse_qs(urlparse(db_url).query)["schema"][0]
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')  # type: ignore[arg-type]
        conn.execute(sql)  # type: ignore[arg-type]


def core_balance(db_url: str, org: str, period: str) -> dict[str, Any]:
    app = build_ledger(load_settings(db_url))
    try:
        return app.balance(org, period)
    finally:
        app.close()


def test_a_balance_and_a_statement_as_known_at_a_time_and_as_effective_by_a_date(
    branch: str, frozen: Any
) -> None:
    db = branch
    before = "2026-12-15T10:00:00+07:00"  # the month was opened at this (frozen) time
    frozen.tick(timedelta(hours=1))
    ok(db, "pay --member M1 --amount 50,000 --reference P-1")
    after = "2026-12-15T11:00:00+07:00"

    then = as_json(db, f"balance --org B1 --period 2026-12 --known-at {before}")
    now = as_json(db, f"balance --org B1 --period 2026-12 --known-at {after}")
    assert then["collected"] == 0 and now["collected"] == 50_000
    assert then["assessed"] == now["assessed"] > 0
    assert as_json(db, "balance --org B1 --period 2026-12")["collected"] == 50_000
    assert as_json(db, f"member statement M1 --known-at {before}")["paid"] == 0
    assert as_json(db, f"member statement M1 --known-at {after}")["paid"] == 50_000

    # A time before the organisation was recorded, a date before any month: errors, not zeros.
    assert "2020" in refused(db, "balance --org B1 --known-at 2020-01-01").stderr
    refused(db, "balance --org B1 --as-of 2026-11-30")
    refused(db, "member statement M1 --known-at 2020-01-01")
    refused(db, "balance --org B1 --as-of 30/12/2026")
    assert as_json(db, "balance --org B1 --as-of 2026-12-31")["periods"] == ["2026-12"]


def test_roll_ups_follow_the_tree_as_it_was_each_month(branch: str, frozen: Any) -> None:
    db = branch
    ok(db, "pay --member M4 --amount 5,000 --reference P-4")  # B2, under HN-BD
    ok(db, "org move B2 --parent HN --from 2027-01")
    ok(db, "month open --period 2027-01")
    ok(db, "pay --member M4 --amount 5,000 --reference P-5")
    ok(db, "org merge B1 --into B2 --from 2027-02")
    ok(db, "month open --period 2027-02")
    ok(db, "pay --member M1 --amount 90,000 --reference P-6")

    # B1 ended when it merged: no figures of its own from February (an error, not zeros).
    refused(db, "balance --org B1 --period 2027-02")
    for org in ("HN-BD", "HN", "TW", "B1", "B2"):
        for period in ("2026-12", "2027-01", "2027-02"):
            if (org, period) == ("B1", "2027-02"):
                continue
            got = as_json(db, f"balance --org {org} --period {period}")
            want = core_balance(db, org, period)
            for key in ("collected", "assessed", "outstanding", "subtree_collected"):
                assert got[key] == want[key], (org, period, key)
    # B2's 5,000 of December stays under HN-BD; January's is under HN only.
    assert as_json(db, "balance --org HN-BD --period 2026-12")["subtree"]["collected"] >= 5_000
    assert as_json(db, "balance --org HN --period 2027-01")["subtree"]["collected"] == (
        as_json(db, "balance --org HN-BD --period 2027-01")["subtree"]["collected"] + 5_000
    )


def test_rebuild_and_replay_find_a_read_model_row_changed_behind_their_back(
    branch: str,
) -> None:
    db = branch
    ok(db, "pay --member M1 --amount 70,000 --reference P-1")
    assert as_json(db, "audit replay")["ok"] is True
    assert "No difference" in ok(db, "audit replay").stdout

    execute(db, "UPDATE rm_balance SET collected = collected + 1 WHERE org = 'B1'")
    tampered = run(db, "audit replay --json")
    assert tampered.exit_code == 3
    assert "rm_balance" in tampered.stdout and "B1" in tampered.stdout

    refused(db, "projections rebuild --name nope")
    assert "balances" in ok(db, "projections rebuild --name balances").stdout
    assert run(db, "audit replay").exit_code == 0
    assert as_json(db, "balance --org B1 --period 2026-12")["collected"] == 70_000
    assert "Rebuilt" in ok(db, "projections rebuild").stdout
