"""The `dangphi` command line, end to end on SQLite and PostgreSQL: a treasurer's month.

Each story types real commands (typer's CliRunner, in process, with the clock
frozen at 2026-12-15) against a fresh database; figures are checked exactly
from `--json` output.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner, Result

from api.cli.main import app

runner = CliRunner()

ORG_HEADER = ["code", "name", "type", "parent_code"]
ORGS = [
    ["TW", "Trung ương", "central", ""],
    ["HN", "Thành ủy Hà Nội", "provincial", "TW"],
    ["HN-BD", "Đảng ủy phường Ba Đình", "grassroots_committee", "HN"],
    ["HN-BD-01", "Chi bộ khu phố 1", "branch", "HN-BD"],
    ["HN-BD-02", "Chi bộ khu phố 2", "branch", "HN-BD"],
]
MEMBER_HEADER = (
    "code,full_name,branch_code,category,monthly_base,region,party_joined_on,national_id"
)
MEMBERS = """\
M1,Nguyễn Văn An,HN-BD-01,social_insured,7000000,I,2005-05-19,001085012345
M2,Trần Thị Bình,HN-BD-01,social_insured,7000000,I,2010-03-02,
M3,Lê Văn Cường,HN-BD-01,social_insured,7000000,I,2012-09-01,
M4,Phạm Thị Dung,HN-BD-02,student,,I,2024-01-09,
"""
BALANCE_KEYS = (
    "assessed",
    "collected",
    "outstanding",
    "retained",
    "payable_to_parent",
    "remitted_to_parent",
    "received_from_children",
    "in_transit",
    "subtree_collected",
)


@pytest.fixture
def frozen() -> Iterator[object]:
    """conftest's instant, with psycopg_pool on real time: every CLI call closes its pool,
    and a frozen monotonic clock makes each close wait out its 5 s timeout."""
    with freeze_time("2026-12-15 10:00:00+07:00", ignore=["psycopg_pool"]) as f:
        yield f


def ok(db_url: str, command: str) -> Result:
    """Run `dangphi --db URL <command>` and insist it succeeded."""
    result = runner.invoke(app, ["--db", db_url, *shlex.split(command)])
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return result


def as_json(db_url: str, command: str) -> Any:
    return json.loads(ok(db_url, f"{command} --json").stdout)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def tree(db_url: str, frozen: object, tmp_path: Path) -> str:
    """The Hà Nội tree and four members imported through the CLI, December opened."""
    orgs = write_csv(tmp_path / "orgs.csv", ORG_HEADER, ORGS)
    members = tmp_path / "members.csv"
    members.write_text(f"{MEMBER_HEADER}\n{MEMBERS}", encoding="utf-8-sig")  # as Excel saves it
    ok(db_url, f"org import {orgs}")
    ok(db_url, f"member import {members}")
    ok(db_url, "month open --period 2026-12")
    return db_url


def figures(balance: dict[str, Any]) -> dict[str, int]:
    assert all(type(balance[k]) is int for k in BALANCE_KEYS)
    return {k: balance[k] for k in BALANCE_KEYS}


def test_a_full_month_runs_from_import_to_the_centre(tree: str) -> None:
    db = tree
    ok(
        db,
        "org account add --org HN-BD-01 --bin 970436 --account-number 0123456789 "
        "--holder-name 'CHI BO KHU PHO 1' --holder-kind organisation",
    )
    cash = ok(db, "pay --member M1 --amount 70,000 --channel cash --reference CASH-1").stdout
    assert "CASH-1" in cash and "2026-12" in cash and "70,000 đ" in cash
    bank = ok(db, "pay --member M2 --amount 100000 --channel bank --reference VCB-2").stdout
    assert "30,000 đ" in bank  # kept as credit
    ok(db, "pay --member M4 --amount 5000")
    assert "145,000 đ" in ok(db, "month close --period 2026-12 --org HN-BD").stdout
    for org, amount in [
        ("HN-BD-01", 98_000),
        ("HN-BD-02", 3_500),
        ("HN-BD", 50_750),
        ("HN", 25_375),
    ]:
        assert f"{amount:,} đ" in ok(db, f"remit --org {org} --period 2026-12").stdout

    assert figures(as_json(db, "balance --org HN-BD-01 --period 2026-12")) == {
        "assessed": 210_000,
        "collected": 140_000,
        "outstanding": 70_000,
        "retained": 42_000,
        "payable_to_parent": 98_000,
        "remitted_to_parent": 98_000,
        "received_from_children": 0,
        "in_transit": 0,
        "subtree_collected": 140_000,
    }
    assert figures(as_json(db, "balance --org HN-BD --period 2026-12")) == {
        "assessed": 0,
        "collected": 0,
        "outstanding": 0,
        "retained": 50_750,
        "payable_to_parent": 50_750,
        "remitted_to_parent": 50_750,
        "received_from_children": 101_500,
        "in_transit": 0,
        "subtree_collected": 145_000,
    }
    centre = figures(as_json(db, "balance --org TW"))
    assert (centre["retained"], centre["received_from_children"]) == (25_375, 25_375)
    assert (centre["payable_to_parent"], centre["subtree_collected"]) == (0, 145_000)

    paid_ahead = as_json(db, "member statement M2")
    months = [
        (m["period"], m["assessed"], m["paid"], m["outstanding"]) for m in paid_ahead["months"]
    ]
    assert months == [("2026-12", 70_000, 70_000, 0)]
    assert (paid_ahead["credit"], paid_ahead["paid_through"]) == (30_000, "2026-12")
    unpaid = as_json(db, "member statement M3")
    assert (unpaid["outstanding"], unpaid["paid_through"]) == (70_000, None)


def test_human_balance_shows_amounts_with_thousands_separators(tree: str) -> None:
    shown = ok(tree, "balance --org HN-BD-01 --period 2026-12").stdout
    assert "210,000 đ" in shown and "Phải thu / Assessed" in shown


def test_human_statement_lists_each_month(tree: str) -> None:
    shown = ok(tree, "member statement M3").stdout
    assert "2026-12" in shown and "70,000 đ" in shown and "Paid through" in shown


def test_a_repeated_payment_reference_is_reported_and_records_nothing(tree: str) -> None:
    ok(tree, "pay --member M1 --amount 100000 --reference VCB-9")
    again = ok(tree, "pay --member M1 --amount 100000 --reference VCB-9").stdout
    assert "already recorded" in again and "đã được ghi nhận" in again
    statement = as_json(tree, "member statement M1")
    assert (statement["paid"], statement["credit"]) == (70_000, 30_000)


def test_a_payment_can_name_the_months_it_pays(tree: str) -> None:
    ok(tree, "pay --member M3 --amount 70000 --months 2026-12 --reference R-M3")
    assert as_json(tree, "member statement M3")["outstanding"] == 0


def test_remitting_again_says_there_is_nothing_left_to_remit(tree: str) -> None:
    ok(tree, "pay --member M1 --amount 70000")
    ok(tree, "month close --period 2026-12 --org HN-BD-01")
    ok(tree, "remit --org HN-BD-01 --period 2026-12")
    again = ok(tree, "remit --org HN-BD-01 --period 2026-12").stdout
    assert "Nothing to remit" in again
    assert as_json(tree, "balance --org HN-BD-01")["remitted_to_parent"] == 49_000


def test_a_new_retention_share_applies_when_the_month_closes(tree: str) -> None:
    ok(
        tree,
        "policy retention --org-type branch --retained-percent 40 --from 2026-12 "
        "--basis 'Nghị quyết thử nghiệm'",
    )
    ok(tree, "pay --member M1 --amount 70000")
    ok(tree, "month close --period 2026-12 --org HN-BD-01")
    branch = as_json(tree, "balance --org HN-BD-01 --period 2026-12")
    assert (branch["retained"], branch["payable_to_parent"]) == (28_000, 42_000)


def test_spending_from_the_retained_fund_is_recorded_once(tree: str) -> None:
    ok(tree, "pay --member M1 --amount 70000")
    ok(tree, "month close --period 2026-12 --org HN-BD-01")
    spend = "spend --org HN-BD-01 --amount 20000 --purpose 'Sinh hoạt chi bộ' --reference PC-01"
    ok(tree, f"{spend} --channel cash")
    assert "already recorded" in ok(tree, spend).stdout
    assert as_json(tree, "balance --org HN-BD-01")["retained_available"] == 1_000


def test_an_exemption_reassesses_the_open_month(tree: str) -> None:
    ok(
        tree,
        "member exempt M3 --kind hardship --percent 50 --decision QD-12/2026 "
        "--from 2026-12 --to 2027-02",
    )
    assert as_json(tree, "member statement M3")["months"][0]["assessed"] == 35_000


def test_income_change_and_official_transfer_follow_the_member(tree: str) -> None:
    before = as_json(tree, "member statement M3")["assessed"]
    ok(tree, "member income M3 --category social_insured --monthly-base 8,000,000 --from 2026-12")
    assert as_json(tree, "member statement M3")["assessed"] == 80_000
    # the human statement marks what the back-dated change asks more (a CLI check)
    shown = " ".join(ok(tree, "member statement M3").stdout.split())
    assert f"arrears +{80_000 - before:,}" in shown, shown
    ok(tree, "member transfer M3 --to HN-BD-02 --from 2027-01")
    ok(tree, "member attend M2 --branch HN-BD-02 --from 2027-01 --until 2027-03")
    ok(tree, "month open --period 2027-01")
    moved = as_json(tree, "member statement M3")
    assert [m["branch"] for m in moved["months"]] == ["HN-BD-01", "HN-BD-02"]
    assert "HN-BD-02 2027-01..2027-03" in ok(tree, "member show M2").stdout


def test_member_show_masks_the_national_id(tree: str) -> None:
    shown = ok(tree, "member show M1").stdout
    assert "********2345" in shown and "001085012345" not in shown


def test_org_tree_shows_the_hierarchy_and_flags_personal_accounts(tree: str) -> None:
    ok(
        tree,
        "org account add --org HN-BD-02 --bin 970436 --account-number 99887766 "
        "--holder-name 'NGUYEN VAN A' --holder-kind personal",
    )
    shown = ok(tree, "org tree --period 2026-12 --org HN-BD").stdout
    assert "HN-BD-01" in shown and "HN-BD-02" in shown and "TW" not in shown
    assert "personal" in shown


def test_moves_merges_and_dissolutions_keep_earlier_months(tree: str) -> None:
    ok(tree, "org move HN-BD-02 --parent HN --from 2027-01")
    ok(tree, "org merge HN-BD-02 --into HN-BD-01 --from 2027-02")
    assert "HN-BD-02" in ok(tree, "org tree --period 2027-01").stdout
    assert "HN-BD-02" not in ok(tree, "org tree --period 2027-02").stdout
    ok(tree, "member end M3 --from 2027-02 --reason 'Chuyển ra nước ngoài'")
    assert as_json(tree, "member statement M3")["ended_from"] == "2027-02"


def test_help_never_opens_the_database() -> None:
    result = runner.invoke(app, ["--db", "nonsense://", "--help"])
    assert result.exit_code == 0 and "balance" in result.stdout


def test_installed_script_runs_and_refuses_bad_input_without_traceback(tmp_path: Path) -> None:
    dangphi = [str(Path(sys.executable).with_name("dangphi")), "--db", f"sqlite:///{tmp_path}/s.db"]
    orgs = write_csv(tmp_path / "orgs.csv", ORG_HEADER, ORGS)
    done = subprocess.run([*dangphi, "org", "import", orgs], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    bad = subprocess.run([*dangphi, "balance", "--org", "NOPE"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Lỗi: ") and "\nError: No party organisation" in bad.stderr


def test_a_reader_that_goes_away_is_not_a_database_error(tmp_path: Path) -> None:
    """A CLI check: `dangphi balance --json | missing-script` said "The database cannot be
    opened or written: [Errno 32] Broken pipe"."""
    dangphi = [str(Path(sys.executable).with_name("dangphi")), "--db", f"sqlite:///{tmp_path}/s.db"]
    orgs = write_csv(tmp_path / "orgs.csv", ORG_HEADER, ORGS)
    assert subprocess.run([*dangphi, "org", "import", orgs], capture_output=True).returncode == 0
    reader, writer = os.pipe()
    os.close(reader)  # gone before anything is written
    try:
        done = subprocess.run(
            [*dangphi, "suspense", "list", "--org", "HN", "--json"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(writer)
    assert "database" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1


def test_remit_deducts_what_an_earlier_month_over_remitted_and_says_so(tree: str) -> None:
    """November remitted, then M1's income is cut from November: December's remittance
    deducts November's excess and says which month's (a helper's check: before, December
    sent its full share and the parent kept the excess)."""
    ok(tree, "month open --period 2026-11")
    ok(tree, "pay --member M1 --amount 70000 --months 2026-11 --reference N1")
    ok(tree, "month close --period 2026-11 --org HN-BD-01")
    assert as_json(tree, "remit --org HN-BD-01 --period 2026-11")["amount"] == 49_000
    ok(tree, "member income M1 --category social_insured --monthly-base 3500000 --from 2026-11")
    ok(tree, "pay --member M2 --amount 70000 --months 2026-12 --reference D2")
    ok(tree, "month close --period 2026-12 --org HN-BD-01")

    sent = as_json(tree, "remit --org HN-BD-01 --period 2026-12")

    # December: M1's 35,000 đ (from the credit the cut freed) and M2's 70,000 đ, 70% payable
    assert (sent["payable"], sent["offset"], sent["amount"]) == (73_500, 24_500, 49_000)
    assert sent["offsets"] == [{"period": "2026-11", "amount": 24_500}]
    again = ok(tree, "remit --org HN-BD-01 --period 2026-12").stdout
    assert "Nothing to remit" in again
    total = as_json(tree, "balance --org HN-BD-01")
    assert total["remitted_to_parent"] == total["payable_to_parent"] == 98_000


def test_remit_prints_the_deduction_in_both_languages(tree: str) -> None:
    ok(tree, "month open --period 2026-11")
    ok(tree, "pay --member M1 --amount 70000 --months 2026-11 --reference N1")
    ok(tree, "month close --period 2026-11 --org HN-BD-01")
    ok(tree, "remit --org HN-BD-01 --period 2026-11")
    ok(tree, "member income M1 --category social_insured --monthly-base 3500000 --from 2026-11")
    ok(tree, "month close --period 2026-12 --org HN-BD-01")

    text = " ".join(ok(tree, "remit --org HN-BD-01 --period 2026-12").stdout.split())

    assert "deducted 24,500 đ over-remitted to HN-BD (2026-11: 24,500 đ)" in text
    assert "trừ 24,500 đ đã nộp thừa" in text
