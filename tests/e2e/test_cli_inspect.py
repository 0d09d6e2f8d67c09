"""`dangphi inspect`: an inspector lists findings for a subtree, reviews one, exports them for
the committee, and checks assessed incomes against a social insurance file.

The `branch` fixture: B1 banks into an account in its name, B2 only into its treasurer's
personal account; 2026-12 is open. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from tests.e2e.conftest import as_json, ok, refused

REASON = "chưa mở tài khoản tổ chức"


def personal_collection(db: str) -> dict[str, object]:
    """B2 asks M4 to pay into the treasurer's account, with the override recorded."""
    ok(db, f"pay-request --member M4 --override-reason '{REASON}'")
    [found] = as_json(db, "inspect --org TW")
    return dict(found)


def test_inspect_lists_a_personal_account_collection_with_its_recorded_override(
    branch: str,
) -> None:
    found = personal_collection(branch)
    assert (found["kind"], found["kind_name"], found["org"], found["period"]) == (
        1,
        "personal_account",
        "B2",
        "2026-12",
    )
    details = found["evidence"]["details"]  # type: ignore[index]
    assert details["account"] == "0351000646393" and details["holder_kind"] == "personal"
    assert [r["reason"] for r in details["requests"]] == [REASON]
    shown = ok(branch, "inspect --org HN-BD").stdout
    assert "personal_account" in shown and "0351000646393" in shown and "1 findings" in shown
    assert REASON in shown


def test_inspect_shows_only_the_subtree_month_and_kind_asked_for(branch: str) -> None:
    personal_collection(branch)
    assert as_json(branch, "inspect --org B1") == []
    assert len(as_json(branch, "inspect --org B2")) == 1
    assert as_json(branch, "inspect --org TW --period 2026-11") == []
    assert as_json(branch, "inspect --org TW --kind 3") == []
    assert len(as_json(branch, "inspect --org TW --kind personal_account")) == 1
    assert "No findings under B1" in ok(branch, "inspect --org B1").stdout


def test_a_review_is_recorded_and_shown_and_an_unknown_finding_is_refused(branch: str) -> None:
    found = personal_collection(branch)
    out = ok(branch, f"inspect review {found['id']} --note 'Đã nhắc mở TK' --reviewer UBKT-BD")
    assert f"Recorded a review of finding {found['id']} (UBKT-BD)" in out.stdout
    [again] = as_json(branch, "inspect --org TW")
    assert again["status"] == "reviewed"
    assert [(r["note"], r["reviewer"]) for r in again["reviews"]] == [("Đã nhắc mở TK", "UBKT-BD")]
    assert again["explanation_vi"] == found["explanation_vi"]
    unknown = refused(branch, "inspect review 00000000-0000-5000-8000-000000000000 --note x")
    assert "No finding '00000000-0000-5000-8000-000000000000'" in unknown.stderr
    refused(branch, "inspect review not-a-uuid --note x")
    refused(branch, f"inspect review {found['id']} --note ' '")


def test_bad_requests_are_refused_in_both_languages(branch: str) -> None:
    refused(branch, "inspect")
    refused(branch, "inspect --org NOPE")
    refused(branch, "inspect --org TW --kind 11")
    refused(branch, "inspect --org TW --period 2026-13")


def test_export_writes_the_same_findings_as_csv_and_xlsx(branch: str, tmp_path: Path) -> None:
    found = personal_collection(branch)
    ok(branch, f"inspect export --org TW --format csv -o {tmp_path / 'f.csv'}")
    with (tmp_path / "f.csv").open(encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header[0] == "ID" and len(rows) == 1
    assert rows[0][:5] == [found["id"], "1 personal_account", "high", "B2", "2026-12"]
    ok(branch, f"inspect export --org TW --format xlsx -o {tmp_path / 'f.xlsx'}")
    sheet = load_workbook(tmp_path / "f.xlsx").active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][:5] == rows[0][:5] and values[1][5] == rows[0][5]
    refused(branch, f"inspect export --org TW --format pdf -o {tmp_path / 'f.pdf'}")
    refused(branch, f"inspect export --org TW --format csv -o {tmp_path / 'missing' / 'f.csv'}")


def test_incomes_from_the_social_insurance_file_find_an_under_assessed_member(
    branch: str, tmp_path: Path
) -> None:
    incomes = tmp_path / "bhxh.csv"
    incomes.write_text(
        "member_code,period,income\nM1,2026-12,9500000\nM3,2026-12,0\n", encoding="utf-8"
    )
    out = ok(branch, f"inspect incomes --org HN-BD --period 2026-12 --file {incomes}")
    assert "Recorded 2 members' incomes from file:bhxh.csv; 1 were assessed on less" in out.stdout
    again = ok(branch, f"inspect incomes --org HN-BD --period 2026-12 --file {incomes}")
    assert "reports nothing new" in again.stdout
    [found] = as_json(branch, "inspect --org TW --kind under_assessed")
    details = found["evidence"]["details"]
    assert (found["subject"], details["reported"], details["used"]) == (
        "M1/income",
        9_500_000,
        7_234_567,
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("member_code,period,income\nM1,2026-12,abc\nM2,12/2026,1\n", encoding="utf-8")
    rejected = refused(branch, f"inspect incomes --org HN-BD --period 2026-12 --file {bad}")
    assert "line 2" in rejected.stderr and "line 3" in rejected.stderr
