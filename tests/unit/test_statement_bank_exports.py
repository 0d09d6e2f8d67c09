"""Statement files laid out as Vietnamese banks export them (a review, 2026-11-24):
signatures spread over the amount columns, bilingual header labels written on two lines of
one cell, printed opening and closing balances, a workbook whose statement is not on its
first sheet. Each test failed on the code before its fix."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from ledger.errors import ImportRejected, InvalidInput
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


# ---- printed opening and closing balances ----------------------------------------------
VCB_TITLE = [
    ["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM"],
    ["SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT"],
    ["Số tài khoản/Account number:", ACCOUNT],
    ["Từ ngày 01/12/2026 đến ngày 31/01/2027"],
    ["Số dư đầu kỳ/Opening balance:", "5,000,000"],
]
VCB_LINES = [
    HEADER,
    ["01/12/2026 08:15:30", "FT1", "", "70,000", "5,070,000", "DP12 A"],
    ["15/12/2026", "FT2", "20,000", "", "5,050,000", "PHI QUAN LY TK"],
    ["05/01/2027", "FT3", "", "140.000", "5,190,000", "DP01 B"],
    ["Tổng số/Total", "", "20,000", "210,000", "", ""],
]


def test_a_printed_closing_balance_that_disagrees_with_the_lines_is_refused(
    tmp_path: Path,
) -> None:
    """The bank prints 5,290,000 at the end; its lines end at 5,190,000 (a line missing
    from the export). It was imported with the lines' 5,190,000, the row never read."""
    rows = [*VCB_TITLE, *VCB_LINES, ["Số dư cuối kỳ/Closing balance", "", "", "", "5,290,000", ""]]
    with pytest.raises(ImportRejected) as caught:
        rs(write_csv(tmp_path / "s.csv", rows))
    ((number, vi, en),) = caught.value.problems
    assert number == 11
    assert "5,290,000" in vi and "5,190,000" in vi and "số dư cuối kỳ" in vi
    assert "closing balance 5,290,000 differs from 5,190,000" in en


def test_printed_balances_that_agree_are_accepted_wherever_the_bank_puts_them(
    tmp_path: Path,
) -> None:
    rows = [
        *VCB_TITLE,
        *VCB_LINES,
        ["Số dư cuối kỳ: 5,190,000 VND"],
        [],
        ["Người lập biểu", "", "", "Kiểm soát"],
    ]
    st = rs(write_csv(tmp_path / "s.csv", rows))
    assert (st.opening_balance, st.closing_balance) == (5_000_000, 5_190_000)
    assert len(st.facts) == 3


def test_a_printed_opening_balance_that_disagrees_with_the_first_line_is_refused(
    tmp_path: Path,
) -> None:
    rows = [*VCB_TITLE[:4], ["Số dư đầu kỳ/Opening balance:", "4,000,000"], *VCB_LINES]
    with pytest.raises(ImportRejected) as caught:
        rs(write_csv(tmp_path / "s.csv", rows))
    ((number, _, en),) = caught.value.problems
    assert number == 5
    assert "opening balance 4,000,000 differs from the balance before the first line" in en


def test_without_a_balance_column_the_printed_balances_must_bridge_the_lines(
    tmp_path: Path,
) -> None:
    """No running balance: opening 5,000,000 + 70,000 − 20,000 is 5,050,000, not the
    5,060,000 printed (a misread or missing line); it was imported without a word."""
    header = ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Diễn giải"]
    lines = [
        ["01/12/2026", "FT1", "", "70,000", "DP12 A"],
        ["02/12/2026", "FT2", "20,000", "", "phi"],
    ]
    good = [["Số dư đầu kỳ", "5,000,000"], header, *lines, ["Số dư cuối kỳ", "", "", "5,050,000"]]
    assert len(rs(write_csv(tmp_path / "good.csv", good)).facts) == 2
    bad = [*good[:-1], ["Số dư cuối kỳ", "", "", "5,060,000"]]
    with pytest.raises(ImportRejected) as caught:
        rs(write_csv(tmp_path / "bad.csv", bad))
    assert [p[0] for p in caught.value.problems] == [5]


def test_a_dated_opening_balance_row_is_passed_over_and_checked(tmp_path: Path) -> None:
    """`01/12/2026 | | | | 5,000,000 | Số dư đầu kỳ`: a dated row with no amount, refused
    as a line with no debit or credit."""
    rows = [
        HEADER,
        ["01/12/2026", "", "", "", "5,000,000", "Số dư đầu kỳ"],
        ["01/12/2026", "FT1", "", "70,000", "5,070,000", "DP12 A"],
        ["31/12/2026", "", "", "", "5,070,000", "Số dư cuối kỳ"],
    ]
    st = rs(write_csv(tmp_path / "s.csv", rows))
    assert moves(st) == [("2026-12-01", "in", 70_000)]
    assert (st.opening_balance, st.closing_balance) == (5_000_000, 5_070_000)
    rows[1][4] = "5,000,001"
    with pytest.raises(ImportRejected) as caught:
        rs(write_csv(tmp_path / "bad.csv", rows))
    assert [p[0] for p in caught.value.problems] == [2]


# ---- a workbook's sheets ---------------------------------------------------------------
def write_book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


SHEET = [
    ["Số tài khoản:", ACCOUNT],
    HEADER,
    [datetime(2026, 12, 1, 8, 15), "FT1", None, 70000.0, 5_070_000.0, "DP12 A"],
    [date(2026, 12, 2), "FT2", 20000.0, None, 5_050_000.0, "phi"],
]


def test_a_statement_on_a_later_sheet_is_read(tmp_path: Path) -> None:
    """A cover sheet first, the lines on the second: refused as lacking every column."""
    cover = [["BÁO CÁO TỔNG HỢP"], ["Tổng số dư", 5_050_000]]
    path = write_book(tmp_path / "s.xlsx", {"Tổng hợp": cover, "Sao kê": SHEET})
    assert moves(rs(path)) == [("2026-12-01", "in", 70_000), ("2026-12-02", "out", 20_000)]


def test_a_workbook_with_a_statement_on_two_sheets_is_refused_naming_them(
    tmp_path: Path,
) -> None:
    """A sheet per month: only the first was read, the second month's lines left out."""
    january = [
        SHEET[0],
        HEADER,
        [date(2027, 1, 5), "FT3", None, 140000.0, 5_190_000.0, "DP01 B"],
    ]
    path = write_book(tmp_path / "s.xlsx", {"T12": SHEET, "T01": january})
    with pytest.raises(InvalidInput) as caught:
        rs(path)
    assert "T12, T01" in caught.value.message_vi
    assert "several sheets (T12, T01)" in caught.value.message_en


# ---- the account a title names ---------------------------------------------------------
@pytest.mark.parametrize(
    "title",
    [
        ["A/C No: 1018795283"],
        ["Tài khoản thanh toán: 1018795283"],
        ["Tài khoản thanh toán VND", "1018795283"],
        ["TK: 1018795283"],
    ],
)
def test_a_title_naming_another_account_in_other_words_is_refused(
    tmp_path: Path, title: list[str]
) -> None:
    """Another account's export, its number after `A/C No`, `Tài khoản thanh toán`, `TK`:
    imported as this account's lines."""
    rows = [title, HEADER, ["01/12/2026", "FT1", "", "70,000", "70,000", "DP12 A"]]
    with pytest.raises(InvalidInput) as caught:
        rs(write_csv(tmp_path / "s.csv", rows))
    assert "names account 1018795283" in caught.value.message_en


@pytest.mark.parametrize(
    "title",
    [
        ["Tài khoản thanh toán: " + ACCOUNT],
        ["Chủ tài khoản: CHI BO 123456789"],
        ["Tài khoản đối ứng 0351000646393", "TK: " + ACCOUNT],
    ],
)
def test_titles_naming_this_account_or_none_are_accepted(tmp_path: Path, title: list[str]) -> None:
    rows = [title, HEADER, ["01/12/2026", "FT1", "", "70,000", "70,000", "DP12 A"]]
    assert len(rs(write_csv(tmp_path / "s.csv", rows)).facts) == 1


# ---- dates ------------------------------------------------------------------------------
def test_day_and_month_swapped_by_a_month_first_spreadsheet_are_refused(tmp_path: Path) -> None:
    """`01/12/2026` opened month first became 12 January 2026 (a date cell), `15/12/2026`
    stayed text: the first line was read dated 2026-01-12, without a word."""
    path = write_xlsx(
        tmp_path / "s.xlsx",
        [
            HEADER,
            [datetime(2026, 1, 12), "FT1", None, 70000, 70000, "DP12 A"],
            ["15/12/2026", "FT2", 20000, None, 50000, "phi"],
            [datetime(2026, 2, 12), "FT3", None, 10000, 60000, "DP12 B"],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        rs(path)
    ((number, _, en),) = caught.value.problems
    assert number == 2 and "day and month swapped" in en


def test_date_cells_and_text_dates_that_cannot_be_swapped_are_read(tmp_path: Path) -> None:
    """Date cells on days after the 12th, or text on days up to it: as read."""
    path = write_xlsx(
        tmp_path / "s.xlsx",
        [
            HEADER,
            [datetime(2026, 12, 1, 8, 15, 30), "FT1", None, 70000.0, 70000, "DP12 A"],
            ["15/12/2026 10:00:00", "FT2", 20000, None, 50000, "phi"],
            [datetime(2026, 12, 20), "FT3", None, "10.000", 60000, "DP12 B"],
            ["02-01-2027", "FT4", None, 1000, 61000, "x"],
        ],
    )
    assert moves(rs(path)) == [
        ("2026-12-01", "in", 70_000),
        ("2026-12-15", "out", 20_000),
        ("2026-12-20", "in", 10_000),
        ("2027-01-02", "in", 1_000),
    ]


# ---- encodings and banks' own labels ----------------------------------------------------
VCB_CSV = (
    "Số tài khoản;1018795282\n"
    "Ngày giao dịch;Số tham chiếu;Ghi nợ;Ghi có;Số dư;Diễn giải\n"
    '01/12/2026 08:15:30;FT1;;70.000;70.000;"DP12\nNGUYEN A"\n'
    "02/12/2026;FT2;10.000;;60.000;phí\n"
)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_csv_with_its_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    """Excel's 'Unicode text' and some banks write UTF-16: refused as 'not UTF-8'."""
    data = VCB_CSV.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    st = rs(path)
    assert moves(st) == [("2026-12-01", "in", 70_000), ("2026-12-02", "out", 10_000)]
    assert st.facts[0].narrative == "DP12 NGUYEN A" and st.facts[1].narrative == "phí"


def test_legacy_vietnamese_encodings_are_still_refused_clearly(tmp_path: Path) -> None:
    """Windows-1258 (tone marks as separate bytes) is not guessed."""
    from ledger.errors import InvalidInput as Refused

    path = tmp_path / "s.csv"
    path.write_bytes("Ngày giao dịch;Diễn giải\n".encode("cp1258", errors="replace"))
    with pytest.raises(Refused) as caught:
        rs(path)
    assert "not UTF-8" in caught.value.message_en and "CSV UTF-8" in caught.value.message_vi


def test_acb_and_vietinbank_labels_are_read_by_their_layouts(tmp_path: Path) -> None:
    """`Rút ra | Gửi vào` (ACB), `Mô tả giao dịch` (VietinBank): refused as lacking columns."""
    acb = write_csv(
        tmp_path / "acb.csv",
        [
            ["Ngày hiệu lực", "Số GD", "Rút ra", "Gửi vào", "Số dư", "Nội dung"],
            ["01/12/2026", "1001", "", "70,000", "70,000", "DP12 A"],
            ["02/12/2026", "1002", "10,000", "", "60,000", "phi"],
        ],
    )
    st = rs(acb)
    assert st.layout == "acb" and [f.reference for f in st.facts] == ["1001", "1002"]
    assert moves(st) == [("2026-12-01", "in", 70_000), ("2026-12-02", "out", 10_000)]
    vtb = write_csv(
        tmp_path / "vtb.csv",
        [
            ["STT", "Ngày giao dịch", "Mô tả giao dịch", "Nợ", "Có", "Số dư", "Tài khoản đối ứng"],
            ["1", "01/12/2026 08:15:30", "DP12 A", "", "70,000", "70,000", "0351000646393"],
            ["2", "02/12/2026 09:00:00", "phi", "10,000", "", "60,000", ""],
        ],
    )
    st = rs(vtb)
    assert st.layout == "vietinbank"
    assert moves(st) == [("2026-12-01", "in", 70_000), ("2026-12-02", "out", 10_000)]
