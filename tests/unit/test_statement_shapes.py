"""Export shapes Vietnamese banks really produce that the reader refused whole (a review,
2026-11-24): one signed amount column (with or without a C/D type column), a two-row
header, amount cells spelled `-`, `+140,000`, `140,000 VND`, and a totals row whose date
cell is empty. Each test failed on the code before its fix; the refusals that protect
money are checked beside them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ImportRejected, InvalidInput
from payment_gateways.statements import LAYOUTS, Statement, read_statement
from tests.unit.test_statements import ACCOUNT, MEMO_A, MEMO_B, VCB, write_csv, write_xlsx


def rs(path: Path, layout: str | None = None) -> Statement:
    return read_statement(path, bin_code=VCB, account_number=ACCOUNT, layout=layout)


def moves(statement: Statement) -> list[tuple[str, str, int]]:
    return [(f.value_date, f.direction, f.amount) for f in statement.facts]


def refused(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRejected) as caught:
        rs(path)
    return list(caught.value.problems)


# ---- 1. one signed amount column ---------------------------------------------------------
TITLE = [["SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT"], ["Số tài khoản: " + ACCOUNT], []]


def test_a_signed_amount_column_gives_the_direction_by_its_sign(tmp_path: Path) -> None:
    """Date | Ref | Amount (negative out) | Balance | Narrative: 'lacks debit, credit'."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            *TITLE,
            ["Ngày giao dịch", "Mã giao dịch", "Số tiền", "Số dư", "Nội dung giao dịch"],
            ["05/12/2026", "FT26339001", "500,000", "10,500,000", MEMO_A],
            ["06/12/2026", "FT26340002", "-1,200,000", "9,300,000", "Phi dich vu SMS"],
        ],
    )
    statement = rs(path)
    assert moves(statement) == [("2026-12-05", "in", 500_000), ("2026-12-06", "out", 1_200_000)]
    assert [f.reference for f in statement.facts] == ["FT26339001", "FT26340002"]
    assert (statement.opening_balance, statement.closing_balance) == (10_000_000, 9_300_000)
    assert statement.layout == "generic"
    english = write_xlsx(
        tmp_path / "s.xlsx",
        [
            ["Transaction Date", "Reference", "Amount (VND)", "Balance", "Description"],
            ["05/12/2026", "FT26339001", 500000, 10500000, MEMO_A],
            ["06/12/2026", "FT26340002", -1200000, 9300000, "SMS fee"],
        ],
    )
    assert moves(rs(english)) == moves(statement)


def test_an_amount_column_without_a_sign_for_money_out_is_refused_not_read_as_in(
    tmp_path: Path,
) -> None:
    """A bank that prints money out without a minus and has no type column: every line
    would be read as money in. The printed balances show the second line going out, so
    the file is refused, naming it (read as it stood, 1,200,000 out was booked in)."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Ngày giao dịch", "Mã giao dịch", "Số tiền", "Số dư", "Nội dung giao dịch"],
            ["05/12/2026", "FT26339001", "500,000", "10,500,000", MEMO_A],
            ["06/12/2026", "FT26340002", "1,200,000", "9,300,000", "Phi dich vu SMS"],
        ],
    )
    with pytest.raises(InvalidInput) as caught:
        rs(path)
    assert caught.value.field == "file"
    assert "FT26340002" in caught.value.message_vi and "FT26340002" in caught.value.message_en
    assert "không có dấu" in caught.value.message_vi and "no sign" in caught.value.message_en


@pytest.mark.parametrize(
    ("header", "into", "out"),
    [
        (["Ngày GD", "Số CT", "Loại", "Số tiền", "Số dư", "Diễn giải"], "C", "D"),
        (["Ngày GD", "Số CT", "Loại GD", "Số tiền", "Số dư", "Diễn giải"], "Có", "Nợ"),
        (["Date", "Ref No", "Type", "Amount", "Balance", "Description"], "CR", "DR"),
        (["Ngày GD", "Số CT", "Nợ/Có", "Số tiền", "Số dư", "Diễn giải"], "Có", "Nợ"),
    ],
)
def test_an_amount_with_a_type_column_takes_the_direction_from_the_type(
    tmp_path: Path, header: list[str], into: str, out: str
) -> None:
    """An unsigned amount beside a C/D (Có/Nợ) column; a debit printed negative as well."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            header,
            ["05/12/2026", "R1", into, "500,000", "10,500,000", MEMO_A],
            ["06/12/2026", "R2", out, "1,200,000", "9,300,000", MEMO_B],
            ["07/12/2026", "R3", out.lower(), "-300,000", "9,000,000", "Phi"],
        ],
    )
    assert moves(rs(path)) == [
        ("2026-12-05", "in", 500_000),
        ("2026-12-06", "out", 1_200_000),
        ("2026-12-07", "out", 300_000),
    ]


def test_a_type_that_contradicts_or_is_missing_refuses_the_line(tmp_path: Path) -> None:
    """The direction is money: a credit printed negative, an empty or unknown type, a zero
    amount are each a bad line, named in both languages; nothing is read."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Ngày GD", "Số CT", "Loại", "Số tiền", "Diễn giải"],
            ["05/12/2026", "R1", "C", "500,000", MEMO_A],
            ["06/12/2026", "R2", "C", "-500,000", MEMO_B],
            ["07/12/2026", "R3", "", "500,000", MEMO_B],
            ["08/12/2026", "R4", "X", "500,000", MEMO_B],
            ["09/12/2026", "R5", "D", "0", MEMO_B],
            ["10/12/2026", "R6", "D", "1.5", MEMO_B],
        ],
    )
    problems = refused(path)
    assert [line for line, _, _ in problems] == [3, 4, 5, 6, 7]
    en = " ".join(e for _, _, e in problems)
    vi = " ".join(v for _, v, _ in problems)
    for part in ("negative", "type", "'X'", "no amount", "1.5"):
        assert part in en
    assert "loại" in vi and "số tiền" in vi


def test_a_signed_amount_without_a_sign_is_a_credit_and_zero_is_refused(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Ngày", "Số tiền", "Diễn giải"],
            ["05/12/2026", "0", MEMO_A],
            ["06/12/2026", "", MEMO_A],
        ],
    )
    assert [line for line, _, _ in refused(path)] == [2, 3]


def test_a_lone_debit_or_credit_column_beside_an_amount_is_not_guessed(tmp_path: Path) -> None:
    """'Số tiền' with only a 'Ghi có' column: which column is the money is unclear, so the
    header still lacks the debit column (an unsigned amount read as credits is money lost)."""
    path = write_csv(
        tmp_path / "s.csv",
        [["Ngày", "Ghi có", "Số tiền", "Diễn giải"], ["05/12/2026", "", "500,000", MEMO_A]],
    )
    with pytest.raises(InvalidInput) as caught:
        rs(path)
    assert "debit" in caught.value.message_en and "Ghi nợ" in caught.value.message_vi


def test_the_mapping_names_the_amount_and_type_columns() -> None:
    generic = LAYOUTS["generic"]
    found = generic.match(["Ngày", "Loại", "Số tiền", "Diễn giải"])
    assert found == {"date": 0, "type": 1, "amount": 2, "narrative": 3}
    assert generic.missing(["Ngày", "Loại", "Số tiền", "Diễn giải"]) == []
    # a file with both kinds of columns is read by its debit and credit columns, as before
    both = generic.match(["Ngày", "Ghi nợ", "Ghi có", "Số tiền", "Diễn giải"])
    assert (both["debit"], both["credit"]) == (1, 2)


def test_a_banks_own_type_words_are_data_in_its_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/statements.md's example: a `Thu/Chi` type column, named in the mapping."""
    from payment_gateways.statements import Layout

    labels = {
        "date": ("Ngày GD",),
        "type": ("Thu/Chi",),
        "amount": ("Số tiền",),
        "narrative": ("Nội dung",),
    }
    mybank = Layout("mybank", labels, directions={"in": ("Thu",), "out": ("Chi",)})
    monkeypatch.setitem(LAYOUTS, "mybank", mybank)
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Ngày GD", "Thu/Chi", "Số tiền", "Nội dung"],
            ["05/12/2026", "Thu", "500,000", MEMO_A],
            ["06/12/2026", "Chi", "200,000", MEMO_B],
        ],
    )
    assert [(f.direction, f.amount) for f in rs(path, "mybank").facts] == [
        ("in", 500_000),
        ("out", 200_000),
    ]
    bad = write_csv(
        tmp_path / "b.csv",
        [["Ngày GD", "Thu/Chi", "Số tiền", "Nội dung"], ["05/12/2026", "C", "500,000", MEMO_A]],
    )
    with pytest.raises(ImportRejected):
        rs(bad, "mybank")


# ---- 2. a two-row header -----------------------------------------------------------------
def two_row_xlsx(
    path: Path, top: list[object], below: list[object], rows: list[list[object]]
) -> Path:
    """Title rows, then a header over two rows as a bank draws it: `Số tiền` merged over
    its `Ghi nợ | Ghi có` columns, every other label merged down over both rows."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM"])
    sheet.append(["Số tài khoản:", ACCOUNT])
    sheet.append(top)
    sheet.append(below)
    for row in rows:
        sheet.append(row)
    for column, (upper, lower) in enumerate(zip(top, below, strict=True), start=1):
        letter = get_column_letter(column)
        if upper and not lower:
            sheet.merge_cells(f"{letter}3:{letter}4")
        elif upper and column < len(top) and not top[column] and below[column]:
            sheet.merge_cells(f"{letter}3:{get_column_letter(column + 1)}3")
    book.save(path)
    return path


TOP = ["Ngày giao dịch", "Số tham chiếu", "Số tiền", None, "Số dư", "Diễn giải"]
BELOW = [None, None, "Ghi nợ", "Ghi có", None, None]


def test_a_two_row_header_in_xlsx_with_merged_cells_is_read(tmp_path: Path) -> None:
    """It said 'lacks the columns: debit, credit', though both were there, a row below."""
    path = two_row_xlsx(
        tmp_path / "s.xlsx",
        TOP,
        BELOW,
        [
            ["05/12/2026", "FT26339001", None, 500000, 10500000, MEMO_A],
            ["06/12/2026", "FT26340002", 1200000, None, 9300000, "Phi dich vu SMS"],
        ],
    )
    statement = rs(path)
    assert moves(statement) == [("2026-12-05", "in", 500_000), ("2026-12-06", "out", 1_200_000)]
    assert [f.reference for f in statement.facts] == ["FT26339001", "FT26340002"]
    assert (statement.opening_balance, statement.closing_balance) == (10_000_000, 9_300_000)
    english = two_row_xlsx(
        tmp_path / "en.xlsx",
        ["Date", "Reference", "Amount", None, "Balance", "Description"],
        [None, None, "Debit", "Credit", None, None],
        [["05/12/2026", "FT26339001", None, 500000, 10500000, MEMO_A]],
    )
    assert moves(rs(english)) == [("2026-12-05", "in", 500_000)]


def test_a_two_row_header_in_csv_is_read_and_its_bad_lines_keep_their_numbers(
    tmp_path: Path,
) -> None:
    rows = [
        ["Ngày giao dịch", "Số tham chiếu", "Phát sinh", "", "Số dư", "Diễn giải"],
        ["", "", "Nợ", "Có", "", ""],
        ["05/12/2026", "FT26339001", "", "500,000", "10,500,000", MEMO_A],
    ]
    assert moves(rs(write_csv(tmp_path / "s.csv", rows))) == [("2026-12-05", "in", 500_000)]
    bad = write_csv(tmp_path / "b.csv", [*rows, ["06/12/2026", "R2", "1", "2", "", MEMO_B]])
    assert [line for line, _, _ in refused(bad)] == [4]


def test_a_title_above_a_two_row_header_naming_another_account_is_still_refused(
    tmp_path: Path,
) -> None:
    rows = [
        ["Số tài khoản:", "0011004455667"],
        ["Ngày giao dịch", "Số tham chiếu", "Số tiền", "", "Số dư", "Diễn giải"],
        ["", "", "Ghi nợ", "Ghi có", "", ""],
        ["05/12/2026", "FT26339001", "", "500,000", "10,500,000", MEMO_A],
    ]
    with pytest.raises(InvalidInput, match="names account 0011004455667"):
        rs(write_csv(tmp_path / "s.csv", rows))


# ---- 3. amount cells as banks spell them --------------------------------------------------
HEADER = ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Số dư", "Diễn giải"]


def test_a_dash_a_plus_sign_and_a_currency_are_read_in_amount_cells(tmp_path: Path) -> None:
    """`-` for an empty amount (and balance), `+140,000`, `140,000 VND`, `140.000 đ`: each
    refused the whole file as 'not a whole amount in đồng'."""
    rows = [
        HEADER,
        ["05/12/2026", "R1", "-", "+140,000", "1,140,000", MEMO_A],
        ["06/12/2026", "R2", "-", "140,000 VND", "1,280,000 VND", MEMO_B],
        ["07/12/2026", "R3", "40.000 đ", "-", "1.240.000đ", "Phi"],
        ["08/12/2026", "R4", "-", "60,000 VNĐ", "-", "Nop DP"],
        ["Người lập biểu", "", "-", "-", "-", ""],
    ]
    statement = rs(write_csv(tmp_path / "s.csv", rows))
    assert moves(statement) == [
        ("2026-12-05", "in", 140_000),
        ("2026-12-06", "in", 140_000),
        ("2026-12-07", "out", 40_000),
        ("2026-12-08", "in", 60_000),
    ]
    assert [f.balance for f in statement.facts] == [1_140_000, 1_280_000, 1_240_000, None]
    assert statement.opening_balance == 1_000_000
    assert moves(rs(write_xlsx(tmp_path / "s.xlsx", rows))) == moves(statement)
    signed = write_csv(
        tmp_path / "a.csv",
        [
            ["Ngày", "Số tiền", "Diễn giải"],
            ["05/12/2026", "+140,000 VND", MEMO_A],
            ["06/12/2026", "-40,000 đ", MEMO_B],
        ],
    )
    assert moves(rs(signed)) == [("2026-12-05", "in", 140_000), ("2026-12-06", "out", 40_000)]


@pytest.mark.parametrize(
    "cell",
    [
        "1.140.000,50",  # docs/statements.md: a decimal part other than zeros
        "1,000.05",
        "12.5 VND",
        "1,000,00",  # two digits after a comma that also groups thousands: not guessed
        "1.000.00",
        "140,000 USD",  # another currency is not đồng
        "+-140,000",
        "--",
        "VND",
        "-",  # a dash is no amount: the line has none
        "140,000 VND VND",
    ],
)
def test_decimals_other_currencies_and_stray_signs_are_still_refused(
    tmp_path: Path, cell: str
) -> None:
    path = write_csv(tmp_path / "s.csv", [HEADER, ["05/12/2026", "R1", "", cell, "", MEMO_A]])
    [(line, vi, en)] = refused(path)
    assert line == 2 and vi and en


@pytest.mark.parametrize(
    ("cell", "dong"),
    [
        ("1,000.00", 1_000),
        ("1.140.000,00", 1_140_000),
        ("140,000.00 VND", 140_000),
        ("+70000.0", 70_000),
        ("70,00", 70),
    ],
)
def test_a_decimal_part_of_zeros_is_whole_dong(tmp_path: Path, cell: str, dong: int) -> None:
    """Exports that print every amount with `.00` (or `,00`) were refused whole; the mark
    before one or two digits cannot be a thousands mark, and zeros change nothing."""
    path = write_csv(tmp_path / "s.csv", [HEADER, ["05/12/2026", "R1", "", cell, "", MEMO_A]])
    assert moves(rs(path)) == [("2026-12-05", "in", dong)]


# ---- 4. a totals row with an empty date cell ----------------------------------------------
@pytest.mark.parametrize(
    "label", ["Tổng cộng", "Tổng cộng:", "Cộng phát sinh", "Tổng cộng / Total", "TONG CONG"]
)
def test_a_totals_row_with_an_empty_date_and_the_label_in_the_narrative_is_skipped(
    tmp_path: Path, label: str
) -> None:
    """Date | Ref | Debit | Credit | Balance | Narrative with the label in the narrative
    column: the row's first text is an amount, and it was refused as 'bad date: '."""
    rows = [
        HEADER,
        ["05/12/2026", "R1", "", "500,000", "10,500,000", MEMO_A],
        ["06/12/2026", "R2", "1,200,000", "", "9,300,000", MEMO_B],
        ["", "", "1,200,000", "500,000", "", label],
    ]
    statement = rs(write_csv(tmp_path / "s.csv", rows))
    assert [f.reference for f in statement.facts] == ["R1", "R2"]
    assert statement.closing_balance == 9_300_000
    sheet = [*rows[:3], [None, None, 1200000, 500000, None, label]]
    assert [f.reference for f in rs(write_xlsx(tmp_path / "s.xlsx", sheet)).facts] == [
        "R1",
        "R2",
    ]


@pytest.mark.parametrize(
    "narrative",
    [
        "Tổng hợp đảng phí quý 4 chi bộ 3",  # a payer's memo that begins as a label does
        "Cộng đoàn phí tháng 12",
        "TỔNG CÔNG TY ĐIỆN LỰC HÀ NỘI HOÀN TIỀN",
        MEMO_B,
    ],
)
def test_a_line_with_an_empty_date_is_refused_saying_the_date_is_empty(
    tmp_path: Path, narrative: str
) -> None:
    """A line with an amount whose date cell is empty is never dropped; the message said
    'bad date (want DD/MM/YYYY): ' with nothing after it."""
    rows = [
        HEADER,
        ["05/12/2026", "R1", "", "500,000", "", MEMO_A],
        ["", "R2", "", "300,000", "", narrative],
    ]
    [(line, vi, en)] = refused(write_csv(tmp_path / "s.csv", rows))
    assert line == 3
    assert "date is empty" in en and "trống" in vi
