"""The `dangphi` command line refuses bad input: exit 2, a message in Vietnamese and English,
no traceback, and nothing recorded (the event log, balances and statements are unchanged).

Runs on SQLite and PostgreSQL with the clock frozen at 2026-12-15.
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from api.bootstrap import build_ledger
from api.cli.main import app
from api.settings import load_settings
from tests.builders import member_row, small_ledger
from tests.e2e.conftest import refused

runner = CliRunner()
MEMBER_HEADER = list(member_row("X", "Y"))
ORG_HEADER = ["code", "name", "type", "parent_code"]


@pytest.fixture
def frozen() -> Iterator[object]:
    """conftest's instant, with psycopg_pool on real time (see test_cli.py)."""
    with freeze_time("2026-12-15 10:00:00+07:00", ignore=["psycopg_pool"]) as f:
        yield f


@pytest.fixture
def ready(db_url: str, frozen: object) -> str:
    """Five members in two branches, December open, M1 paid in full."""
    ledger = build_ledger(load_settings(db_url))
    try:
        small_ledger(ledger)
        ledger.open_month("2026-12")
        ledger.pay("M1", 70_000, reference="R-M1")
    finally:
        ledger.close()
    return db_url


def snapshot(db_url: str) -> tuple[Any, ...]:
    ledger = build_ledger(load_settings(db_url))
    try:
        return (
            ledger.recorder.max_notification_id(),
            ledger.balance("HN-BD-01"),
            ledger.member_statement("M1"),
            ledger.member_statement("M3"),
        )
    finally:
        ledger.close()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


ACCOUNT = "--bin 970436 --account-number 123456 --holder-name 'CHI BO'"
PAY_M3 = "pay --member M3 --amount"
REFUSALS = {
    "unknown-org-month-open": ("month open --period 2027-01 --org NOPE", "NOPE"),
    "unknown-org-remit": ("remit --org NOPE --period 2026-12", "NOPE"),
    "unknown-org-account": (
        f"org account add --org NOPE {ACCOUNT} --holder-kind organisation",
        "NOPE",
    ),
    "unknown-org-balance": ("balance --org NOPE --json", "NOPE"),
    "unknown-member-pay": ("pay --member NOPE --amount 70000", "NOPE"),
    "unknown-member-statement": ("member statement NOPE --json", "NOPE"),
    "unknown-member-transfer": ("member transfer NOPE --to HN-BD-02 --from 2027-01", "NOPE"),
    "unknown-branch-transfer": ("member transfer M3 --to NOPE --from 2027-01", "NOPE"),
    "malformed-period-open": ("month open --period 2026-13", "2026-13"),
    "malformed-period-close": ("month close --period 12/2026 --org HN-BD", "12/2026"),
    "malformed-period-months": (f"{PAY_M3} 70000 --months 2026-12,2027-1", "2027-1"),
    "malformed-period-balance": ("balance --org HN-BD --period 2026", "2026"),
    "malformed-period-transfer": ("member transfer M3 --to HN-BD-02 --from 2027", "2027"),
    "negative-amount": (f"{PAY_M3} -70000", "-70000"),
    "negative-amount-equals-form": (f"{PAY_M3}=-5", "-5"),
    "zero-amount": (f"{PAY_M3} 0", "got 0"),
    "fractional-amount": (f"{PAY_M3} 12.5", "12.5"),
    "decimal-comma-amount": (f"{PAY_M3} 70000,5", "70000,5"),
    "non-numeric-amount": (f"{PAY_M3} abc", "abc"),
    "amount-too-large": (f"{PAY_M3} 10,000,000,000,000", "too large"),
    "non-integer-spend": ("spend --org HN-BD-01 --amount 1.5 --purpose x --reference V1", "1.5"),
    "monthly-base-too-large": (
        "member income M3 --category pensioner --monthly-base 1000000000001 --from 2027-01",
        "1000000000001",
    ),
    "non-integer-monthly-base": (
        "member income M3 --category pensioner --monthly-base 5tr --from 2027-01",
        "5tr",
    ),
    "unknown-channel": (f"{PAY_M3} 70000 --channel crypto", "crypto"),
    "unknown-holder-kind": (
        f"org account add --org HN-BD-01 {ACCOUNT} --holder-kind friend",
        "friend",
    ),
    "opening-a-month-twice": ("month open --period 2026-12", "2026-12"),
    "opening-a-month-years-ahead": ("month open --period 2062-12", "2027-12"),
    "closing-a-month-not-open": ("month close --period 2026-11 --org HN-BD", "2026-11"),
    "reference-reused-for-another-payment": (f"{PAY_M3} 70000 --reference R-M1", "R-M1"),
    "paying-a-month-not-owed": (f"{PAY_M3} 70000 --months 2026-11", "2026-11"),
    "spending-more-than-retained": (
        "spend --org HN-BD-01 --amount 1000 --purpose x --reference V1",
        "0 đ",
    ),
    "remitting-from-the-top": ("remit --org TW --period 2026-12", "TW"),
    # a month no branch opened (a typo in the year): not "nothing to remit"
    "remitting-a-month-never-opened": ("remit --org HN-BD-01 --period 2062-12", "2062-12"),
    "exemption-percent-not-allowed": (
        "member exempt M3 --kind hardship --percent 40 --decision QD-1 --from 2026-12 --to 2027-01",
        "40",
    ),
    "retention-above-100": (
        "policy retention --org-type branch --retained-percent 130 --from 2027-01",
        "130",
    ),
    "dissolving-a-branch-with-members": ("org dissolve HN-BD-01 --from 2027-01", "HN-BD-01"),
}


@pytest.mark.parametrize(("command", "named"), REFUSALS.values(), ids=REFUSALS.keys())
def test_bad_input_is_refused_in_both_languages_and_changes_nothing(
    ready: str, command: str, named: str
) -> None:
    before = snapshot(ready)
    assert named in refused(ready, command).stderr
    assert snapshot(ready) == before


def test_paying_a_member_who_has_left_is_refused(ready: str) -> None:
    left = runner.invoke(
        app, ["--db", ready, *shlex.split("member end M3 --from 2026-12 --reason 'Ra nước ngoài'")]
    )
    assert left.exit_code == 0, left.output
    before = snapshot(ready)
    assert "M3" in refused(ready, f"{PAY_M3} 70000").stderr
    assert snapshot(ready) == before


def test_a_member_file_with_several_bad_rows_reports_every_line_and_imports_nothing(
    ready: str, tmp_path: Path
) -> None:
    rows = [
        member_row("M10", "HN-BD-01"),
        {**member_row("M11", "HN-BD-01"), "category": "astronaut"},
        member_row("M12", "NOPE"),
        {**member_row("M13", "HN-BD-02"), "party_joined_on": "19/05/20"},
        {**member_row("M14", "HN-BD-02"), "monthly_base": "7.5tr"},
        # an income that would stop every read model (a review found it accepted)
        {**member_row("M15", "HN-BD-02"), "monthly_base": "1000000000000000000000"},
    ]
    path = write_csv(tmp_path / "m.csv", MEMBER_HEADER, [list(r.values()) for r in rows])
    before = snapshot(ready)
    error = refused(ready, f"member import {path}").stderr
    for line in (3, 4, 5, 6, 7):
        assert f"dòng {line}:" in error and f"line {line}:" in error
    assert "too large" in error and "quá lớn" in error
    assert "line 2:" not in error
    assert snapshot(ready) == before
    assert "M10" in refused(ready, "member show M10").stderr  # the good row was not imported


@pytest.mark.parametrize("base", ["9" * 5000, "5²"])
def test_an_unreadable_income_is_refused_not_a_traceback(
    ready: str, tmp_path: Path, base: str
) -> None:
    row = {**member_row("M16", "HN-BD-01"), "monthly_base": base}
    path = write_csv(tmp_path / "m.csv", MEMBER_HEADER, [list(row.values())])
    error = refused(ready, f"member import {path}").stderr
    assert "line 2" in error and "monthly_base" in error


def test_an_org_file_with_several_bad_rows_reports_every_line(ready: str, tmp_path: Path) -> None:
    rows = [
        ["HN-TX", "Đảng ủy xã Tây Xuân", "grassroots_committee", "HN"],
        ["HN-TX-01", "", "branch", "HN-TX"],
        ["HN-TX-02", "Chi bộ 2", "village", "HN-TX"],
        ["HN-TX-03", "Chi bộ 3", "branch", "GHOST"],
    ]
    path = write_csv(tmp_path / "o.csv", ORG_HEADER, rows)
    before = snapshot(ready)
    error = refused(ready, f"org import {path}").stderr
    assert all(f"line {n}:" in error for n in (3, 4, 5)) and "line 2:" not in error
    assert snapshot(ready) == before


def test_a_member_file_missing_columns_names_them(ready: str, tmp_path: Path) -> None:
    header = [c for c in MEMBER_HEADER if c not in ("region", "party_joined_on")]
    path = write_csv(tmp_path / "m.csv", header, [["M10", "A", "HN-BD-01", "student", "", ""]])
    before = snapshot(ready)
    error = refused(ready, f"member import {path}").stderr
    assert "missing columns: region, party_joined_on" in error
    assert snapshot(ready) == before


def test_a_row_with_more_values_than_the_header_is_refused(ready: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv", ORG_HEADER, [["HN-X", "Xã, Phường", "branch", "HN-BD", "x"]]
    )
    before = snapshot(ready)
    assert "line 2:" in refused(ready, f"org import {path}").stderr
    assert snapshot(ready) == before


def test_a_file_that_does_not_exist_is_refused_clearly(ready: str, tmp_path: Path) -> None:
    error = refused(ready, f"org import {tmp_path / 'missing.csv'}").stderr
    assert "missing.csv" in error and "does not exist" in error


def test_an_empty_file_is_refused_clearly(ready: str, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in refused(ready, f"member import {tmp_path / 'empty.csv'}").stderr


def test_an_invalid_database_url_is_refused_in_both_languages() -> None:
    assert "nonsense://x" in refused("nonsense://x", "balance --org TW").stderr


def test_a_database_that_cannot_be_opened_exits_1_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = runner.invoke(
        app, ["--db", f"sqlite:///{tmp_path}/a-file/x.db", "balance", "--org", "TW"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("Lỗi: ") and "The database cannot be opened" in result.stderr


@pytest.mark.parametrize("key", ["motkhoabimat", "bm90LWEta2V5LW9mLTE2LTI0LTMy"])
def test_a_cipher_key_that_is_not_an_aes_key_is_refused_in_both_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    # a word, or base64 of the wrong length: every command printed the cipher library's
    # traceback (ValueError "Invalid key size") and exited 1 (a helper's CLI check)
    monkeypatch.setenv("DANGPHI_CIPHER_KEY", key)
    said = refused(f"sqlite:///{tmp_path}/dues.sqlite3", "org tree").stderr
    assert "DANGPHI_CIPHER_KEY" in said and "16, 24 or 32 bytes" in said
