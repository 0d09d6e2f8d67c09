"""Statement files laid out as Vietnamese banks export them (a review, 2026-11-24):
signatures spread over the amount columns, bilingual header labels written on two lines of
one cell, printed opening and closing balances, a workbook whose statement is not on its
first sheet. Each test failed on the code before its fix."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from ledger.errors import ImportRejected
from payment_gateways.statements import Statement, read_statement
from tests.unit.test_statements import ACCOUNT, VCB, write_csv, write_xlsx

HEADER = ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Số dư", "Diễn giải"]


def rs(path: Path) -> Statement:
    return read_statement(path, bin_code=VCB, account_number=ACCOUNT)


def moves(statement: Statement) -> list[tuple[str, str, int]]:
    return [(f.value_date, f.direction, f.amount) for f in statement.facts]


def test_a_footer_signature_spread_over_the_amount_columns_is_passed_over(
    tmp_path: Path,
) -> None:
    """`Người lập biểu | | | Kiểm soát`: the second title falls under Ghi có. It was
    refused as a line with a bad date and a bad credit, so the whole export was."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            HEADER,
            ["01/12/2026", "FT1", "", "70,000", "70,000", "DP12 A"],
            [],
            ["Người lập biểu", "", "", "Kiểm soát", "", "Giám đốc"],
            ["NGUYEN VAN K", "", "Ký tên", "", "", ""],
        ],
    )
    assert moves(rs(path)) == [("2026-12-01", "in", 70_000)]


def test_a_footer_row_with_digits_under_an_amount_column_is_still_refused(
    tmp_path: Path,
) -> None:
    """A dateless row with a figure in a money column may be a line: still refused."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            HEADER,
            ["01/12/2026", "FT1", "", "70,000", "70,000", "DP12 A"],
            ["Ghi chú", "", "", "5,000", "", ""],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        rs(path)
    assert [p[0] for p in caught.value.problems] == [3]


def test_bilingual_header_labels_on_two_lines_of_a_cell_are_recognised(tmp_path: Path) -> None:
    """`Ngày giao dịch⏎Transaction Date` (a wrapped cell): it was refused as lacking a date
    column, and `Ghi nợ⏎Debit` as lacking debit and credit."""
    path = write_xlsx(
        tmp_path / "s.xlsx",
        [
            ["Số tài khoản:", None, ACCOUNT],
            [
                "Ngày giao dịch\nTransaction Date",
                "Số tham chiếu\nReference No.",
                "Ghi nợ\r\nDebit",
                "Ghi có\nCredit",
                "Số dư\nBalance",
                "Diễn giải\nDescription",
            ],
            [datetime(2026, 12, 1, 8, 15, 30), "FT1", None, 70000.0, 5_070_000.0, "DP12 A"],
            [date(2026, 12, 2), "FT2", 11000.0, None, 5_059_000.0, "phi"],
        ],
    )
    st = rs(path)
    assert moves(st) == [("2026-12-01", "in", 70_000), ("2026-12-02", "out", 11_000)]
    assert [f.reference for f in st.facts] == ["FT1", "FT2"]
