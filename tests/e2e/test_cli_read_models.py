"""The read models through the CLI: point in time, roll-ups through a restructured tree,
rebuild and audit replay (which catches a read-model row changed behind its back)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import openpyxl
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
    assert "2020-01-01" in refused(db, "member statement M1 --as-of 2020-01-01").stderr
    assert [
        m["period"] for m in as_json(db, "member statement M1 --as-of 2026-12-31")["months"]
    ] == ["2026-12"]
    refused(db, "balance --org B1 --as-of 30/12/2026")
    assert as_json(db, "balance --org B1 --as-of 2026-12-31")["periods"] == ["2026-12"]


def test_credit_as_effective_by_a_date_still_holds_what_paid_later_months(
    branch: str, frozen: Any
) -> None:
    # M3 (a student, 5,000 đ a month) pays three months in December; January opens from
    # the credit. As of 31 December the statement showed December paid and only the credit
    # left after January (5,000 đ): the 5,000 đ that paid January was in neither, and
    # paid through read 2027-01 (a helper's cross-view check; the journal to that day, and
    # the statement as known at that day, hold 10,000 đ paid ahead)
    db = branch
    ok(db, "pay --member M3 --amount 15,000 --reference P-3")
    frozen.move_to("2027-01-02 08:00:00+07:00")  # type: ignore[attr-defined]
    ok(db, "month open --period 2027-01")
    ok(db, "pay --member M3 --amount 1,000 --reference P-3b")  # after the date: credit now

    dated = as_json(db, "member statement M3 --as-of 2026-12-31")
    assert [m["period"] for m in dated["months"]] == ["2026-12"]
    assert (dated["paid"], dated["credit"], dated["paid_through"]) == (5_000, 11_000, "2027-02")
    then = as_json(db, "member statement M3 --known-at 2026-12-31")
    assert (then["paid"], then["credit"], then["paid_through"]) == (5_000, 10_000, "2027-02")
    both = as_json(db, "member statement M3 --as-of 2026-12-31 --known-at 2026-12-31")
    assert (both["paid"], both["credit"]) == (5_000, 10_000)
    now = as_json(db, "member statement M3")
    assert (now["paid"], now["credit"], now["paid_through"]) == (10_000, 6_000, "2027-02")


def test_a_member_with_no_month_yet_has_a_statement_as_of_a_date(
    branch: str, tmp_path: Path
) -> None:
    # in a branch that has opened no month yet, paid ahead: nothing to refuse (a review
    # found it refused as if the date were before the member's months)
    (tmp_path / "o.csv").write_text(
        "code,name,type,parent_code\nB9,Chi bộ mới,branch,HN-BD\n", encoding="utf-8"
    )
    ok(branch, f"org import {tmp_path / 'o.csv'}")
    (tmp_path / "m.csv").write_text(
        "code,full_name,branch_code,category,monthly_base,region,party_joined_on\n"
        "M9,Đỗ Văn Mới,B9,student,,I,2026-12-01\n",
        encoding="utf-8",
    )
    ok(branch, f"member import {tmp_path / 'm.csv'}")
    ok(branch, "pay --member M9 --amount 5,000 --reference P-M9")
    dated = as_json(branch, "member statement M9 --as-of 2026-12-31")
    assert (dated["months"], dated["credit"]) == ([], 5_000)


def test_every_book_row_adds_up_after_a_back_dated_cut(branch: str, tmp_path: Path) -> None:
    # M1's income cut back to 5,000,000 from December after the month opened: before, the
    # row read 72,346 + 0 = 50,000 (a helper's check); and M3's fixed 5,000 showed income 0
    db = branch
    ok(db, "member income M1 --category social_insured --monthly-base 5000000 --from 2026-12")
    xlsx = tmp_path / "so.xlsx"
    ok(db, f"book --org B1 --period 2026-12 --format xlsx -o {xlsx}")
    part1 = [
        [c.value for c in row]
        for row in openpyxl.load_workbook(xlsx)["Phần I"].iter_rows(min_row=5)
    ]
    rows = {r[1]: r for r in part1 if isinstance(r[0], int)}
    for r in [*rows.values(), part1[-1]]:
        assert r[5] + r[6] == r[7], r
    an = rows["Nguyễn Văn An"]
    assert (an[4], an[5], an[6], an[7]) == (5_000_000, 72_346, -22_346, 50_000)
    assert rows["Lê Văn Cường"][4] is None  # a student's fixed amount: no income


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


def test_the_dues_book_of_a_branch_opens_with_the_ledgers_totals(
    branch: str, tmp_path: Path
) -> None:
    db = branch
    ok(db, "pay --member M1 --amount 50,000 --reference P-1")
    ok(db, "pay --member M2 --amount 30,000 --reference P-2")
    ok(db, "month close --period 2026-12 --org HN-BD")
    ok(db, "remit --org B1 --period 2026-12")
    want = as_json(db, "balance --org B1 --period 2026-12")
    statements = {m: as_json(db, f"member statement {m}") for m in ("M1", "M2", "M3")}

    xlsx, csv_file = tmp_path / "so.xlsx", tmp_path / "so.csv"
    ok(db, f"book --org B1 --period 2026-Q4 --format xlsx -o {xlsx}")
    ok(db, f"book --org B1 --period 2026-12 --format csv -o {csv_file}")

    book = openpyxl.load_workbook(xlsx)
    part1 = [[c.value for c in row] for row in book["Phần I"].iter_rows(min_row=5)]
    members = [r for r in part1 if isinstance(r[0], int)]
    assert sorted(r[1] for r in members) == ["Lê Văn Cường", "Nguyễn Văn An", "Trần Thị Bình"]
    for r in members:
        code = {"Nguyễn Văn An": "M1", "Trần Thị Bình": "M2", "Lê Văn Cường": "M3"}[r[1]]
        month = statements[code]["months"][0]
        assert (r[7], r[8], r[9]) == (month["assessed"], month["paid"], month["outstanding"])
    total = part1[-1]
    assert (total[7], total[8], total[9]) == (
        want["assessed"],
        want["collected"],
        want["outstanding"],
    )

    part2 = [[c.value for c in row] for row in book["Phần II"].iter_rows(min_row=5)]
    december = next(r for r in part2 if r[1] == "12/2026")
    assert december[2:10] == [
        3,
        0,
        want["outstanding"],
        want["collected"],
        want["retained"],
        want["payable_to_parent"],
        want["remitted_to_parent"],
        want["payable_to_parent"] - want["remitted_to_parent"],
    ]
    assert december[10] == "Đảng ủy phường Ba Đình"
    assert book["Phần II"]["F5"].number_format == "#,##0"

    text = csv_file.read_text(encoding="utf-8-sig")
    assert "Họ và tên đảng viên" in text and str(want["collected"]) in text
    refused(db, "book --org NOPE --period 2026-12 --format csv -o " + str(tmp_path / "x.csv"))
    refused(db, "book --org B1 --period 2020-01 --format csv -o " + str(tmp_path / "y.csv"))
