"""Statements of one account imported in both orders of listing (oldest first, newest
first), through `import_statement`: each line once, the same balances (a review).
SQLite and PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction
from tests.integration.test_reconciliation import (
    account_report,
    books,
    import_file,
    write_statement,
)


@pytest.fixture
def branch(ledger: DuesLedger) -> DuesLedger:
    return books(ledger)


ROWS = [  # one day, identical lines (no reference), balances chaining top-down
    ("15/12/2026", "", 0, 50_000, 150_000, "DP NGUYEN VAN A"),
    ("15/12/2026", "", 50_000, 0, 100_000, "PHI"),
    ("15/12/2026", "", 0, 50_000, 150_000, "DP NGUYEN VAN A"),
    ("15/12/2026", "", 0, 20_000, 170_000, "DP NGUYEN VAN A"),
]


def recorded(app: DuesLedger) -> int:
    return sum(1 for e in app.iter_events() if isinstance(e, BankTransaction.Recorded))  # type: ignore[attr-defined]


def test_ascending_then_descending_export_records_each_line_once(
    branch: DuesLedger, tmp_path: Path
) -> None:
    a = import_file(branch, write_statement(tmp_path / "asc.csv", ROWS))
    d = import_file(branch, write_statement(tmp_path / "desc.csv", ROWS[::-1]))
    assert (a["new"], d["new"], d["already"], recorded(branch)) == (4, 0, 4, 4)
    assert account_report(branch)["balance_breaks"] == []


def test_in_order_file_with_a_back_valued_last_line(branch: DuesLedger, tmp_path: Path) -> None:
    """Posting order, every balance chains top-down (opening 1,000,000); last line value-dated
    01/12. Kept in its order (reversed by its ends' dates, it gave a wrong opening and
    false balance breaks)."""
    rows = [
        ("02/12/2026", "R1", 0, 100_000, 1_100_000, "A"),
        ("03/12/2026", "R2", 0, 50_000, 1_150_000, "B"),
        ("01/12/2026", "R3", 20_000, 0, 1_130_000, "DIEU CHINH"),
    ]
    import_file(branch, write_statement(tmp_path / "s.csv", rows))
    report = account_report(branch)
    got = (
        report["opening"]["amount"],
        report["statement_closing"],
        report["difference"],
        len(report["balance_breaks"]),
    )
    assert got == (1_000_000, 1_130_000, 0, 0)
