"""Bank exports as they come (a review of the reader, 2026-11-24): files not sorted by
date, totals rows of many banks, a memo split across cells, title rows with numbers
beside the account. Each case was a defect on the code before the fix."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ledger.errors import ImportRejected
from payment_gateways.statements import Statement, read_statement
from tests.unit.test_statements import ACCOUNT, VCB, VI_HEADER, write_csv, write_xlsx

# narrative before the amounts (Date | Ref | Narrative | Debit | Credit | Balance), as many banks print it
NARR_FIRST = ["Ngày giao dịch", "Số tham chiếu", "Diễn giải", "Ghi nợ", "Ghi có", "Số dư"]


def rs(path: Path) -> Statement:
    return read_statement(path, bin_code=VCB, account_number=ACCOUNT)


# ---- _oldest_first -------------------------------------------------------------------
def test_in_order_file_with_back_valued_last_line_is_not_reversed(tmp_path: Path) -> None:
    """Listed in posting order (balances chain top-down, 1,000,000 opening); the bank's last
    line is a correction value-dated before the first line. The balances decide the order:
    judged by its ends' dates, the file was reversed and its opening and closing swapped."""
    st = rs(
        write_csv(
            tmp_path / "s.csv",
            [
                VI_HEADER,
                ["02/12/2026", "R1", "", "100,000", "1,100,000", "A"],
                ["03/12/2026", "R2", "", "50,000", "1,150,000", "B"],
                ["01/12/2026", "R3", "20,000", "", "1,130,000", "ĐIỀU CHỈNH"],
            ],
        )
    )
    assert [f.reference for f in st.facts] == ["R1", "R2", "R3"]
    assert (st.opening_balance, st.closing_balance) == (1_000_000, 1_130_000)


def test_file_grouped_not_sorted_by_date_keeps_its_chained_order(tmp_path: Path) -> None:
    """Not sorted by date at all (dates 10, 01, 20, 05) but the balances chain top-down."""
    st = rs(
        write_csv(
            tmp_path / "s.csv",
            [
                VI_HEADER,
                ["10/12/2026", "R1", "", "100,000", "1,100,000", "A"],
                ["01/12/2026", "R2", "", "200,000", "1,300,000", "B"],
                ["20/12/2026", "R3", "", "300,000", "1,600,000", "C"],
                ["05/12/2026", "R4", "50,000", "", "1,550,000", "D"],
            ],
        )
    )
    assert (st.opening_balance, st.closing_balance) == (1_000_000, 1_550_000)


# ---- _TOTALS ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "label",
    [
        "Totals",
        "Tổng ghi nợ / Total debit",
        "Tổng ghi có",
        "Tổng tiền",
        "Tổng nợ",
        "Tổng giao dịch",
        "Cộng trang",
        "Cộng lũy kế",
        "Cộng số phát sinh",
    ],
)
def test_totals_row_skipped_before_is_still_skipped(tmp_path: Path, label: str) -> None:
    """Banks' totals footers, skipped (c8fe47f's first label list refused these files)."""
    st = rs(
        write_csv(
            tmp_path / "s.csv",
            [
                VI_HEADER,
                ["05/12/2026", "R1", "", "70,000", "1,070,000", "A"],
                [label, "", "0", "70,000", "", ""],
            ],
        )
    )
    assert len(st.facts) == 1


def test_a_real_line_from_a_tong_cong_ty_missing_its_date_is_refused_not_dropped(
    tmp_path: Path,
) -> None:
    """'Tổng công ty ...' (a corporation: EVN's) is no totals label: its line, with an amount
    and no date, is refused (it was dropped silently as a total)."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            NARR_FIRST,
            ["05/12/2026", "R1", "A", "", "70,000", "1,070,000"],
            ["", "", "TỔNG CÔNG TY ĐIỆN LỰC HÀ NỘI HOÀN TIỀN", "", "500,000", "1,570,000"],
        ],
    )
    with pytest.raises(ImportRejected):
        rs(path)


# ---- XLSX width exemption --------------------------------------------------------------
def test_xlsx_with_a_memo_split_across_cells_is_refused_as_the_csv_is(tmp_path: Path) -> None:
    """A CSV with an unquoted comma opened in Excel and saved as .xlsx: the memo's tail (the
    request code) lies in the cell after the table. Both files are refused (c8fe47f imported
    the .xlsx with the memo cut and the code lost)."""
    rows = [
        VI_HEADER,
        ["05/12/2026", "R1", "", "70000", "1070000", "MBVCB.4525077405", "DPK7Q2M9XM DP 12 2026"],
    ]
    with pytest.raises(ImportRejected):
        rs(write_csv(tmp_path / "s.csv", rows))
    with pytest.raises(ImportRejected):
        facts = rs(write_xlsx(tmp_path / "s.xlsx", rows)).facts
        print("imported narrative:", [f.narrative for f in facts])


# ---- _check_named_account --------------------------------------------------------------
@pytest.mark.parametrize(
    "title",
    [
        ["Số tài khoản:", ACCOUNT, "01/12/2026 - 31/12/2026"],
        ["STK", ACCOUNT, "0912345678"],
        ["Tài khoản số", ACCOUNT, datetime(2026, 12, 1)],
        ["Số tài khoản: " + ACCOUNT, "12/2026"],
    ],
)
def test_our_own_account_with_another_number_in_the_next_cell_is_accepted(
    tmp_path: Path, title: list[object]
) -> None:
    """The next cell's digits (a period, a phone number, a date) are not part of the account
    number (73488e7 glued them on and refused our own file as another account's)."""
    rows = [title, VI_HEADER, ["05/12/2026", "R1", "", "70000", "1070000", "A"]]
    assert len(rs(write_xlsx(tmp_path / "s.xlsx", rows)).facts) == 1
