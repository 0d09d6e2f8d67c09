"""The dues book (S01/ĐP) as CSV and XLSX: what a treasurer prints for a quarter or a year.

The books are built by hand, so every figure asserted here is summed independently
from the rows given, not from what the exporter wrote.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from api.book import parse_book_period, write_csv, write_xlsx
from api.cli.main import app
from ledger.errors import InvalidInput
from projections.book_types import BranchMonth, DuesBook, MemberMonth

PART1_HEADERS = [
    "STT",
    "Họ và tên đảng viên",
    "Miễn",
    "Tháng/năm",
    "Thu nhập tính đảng phí",
    "Đảng phí phải nộp: tháng này",
    "Đảng phí phải nộp: truy thu",
    "Đảng phí phải nộp: cộng",
    "Đảng phí đã thu",
    "Chưa nộp cuối tháng",
]
PART2_HEADERS = [
    "Ngày nộp cấp trên",
    "Tháng",
    "Số đảng viên cuối tháng",
    "Số đảng viên miễn",
    "Số tiền chưa thu",
    "Số tiền đã thu",
    "Trích giữ lại",
    "Phải nộp cấp trên",
    "Đã nộp",
    "Chưa nộp",
    "Nơi nhận",
]
P1_MONEY = ("owed_this_month", "arrears", "owed_total", "collected", "unpaid_end")
P2_MONEY = ("unpaid", "collected", "retained", "payable", "remitted", "not_remitted")
RECEIVER = "Đảng ủy phường Ba Đình"


def member_month(no: int, name: str, period: str, owed: int, paid: int, **kw: Any) -> MemberMonth:
    arrears = kw.get("arrears", 0)
    return MemberMonth(
        no=no,
        member_code=f"M{no}",
        full_name=name,
        period=period,
        exempt=kw.get("exempt", False),
        income=kw.get("income"),
        owed_this_month=owed,
        arrears=arrears,
        owed_total=owed + arrears,
        collected=paid,
        unpaid_end=max(0, owed + arrears - paid),
    )


def branch_month(period: str, rows: list[MemberMonth], remitted: int, **kw: Any) -> BranchMonth:
    mine = [r for r in rows if r.period == period]
    collected = sum(r.collected for r in mine)
    retained = collected * 3 // 10
    return BranchMonth(
        period=period,
        remitted_on=kw.get("remitted_on"),
        members_end=kw.get("members_end", len(mine)),
        members_exempt=kw.get("members_exempt", sum(r.exempt for r in mine)),
        unpaid=sum(r.unpaid_end for r in mine),
        collected=collected,
        retained=retained,
        payable=collected - retained,
        remitted=remitted,
        not_remitted=collected - retained - remitted,
        receiver=RECEIVER if remitted else None,
    )


def quarter_book() -> DuesBook:
    """Q4/2026 of a branch: an arrear in November, a part payment, an exempt member, a leaver."""
    an, binh, cuong, dung = "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"
    rows = [
        member_month(1, an, "2026-10", 72_346, 72_346, income=7_234_567),
        member_month(2, binh, "2026-10", 25_000, 25_000, income=5_000_000),
        member_month(3, cuong, "2026-10", 3_000, 3_000),
        member_month(4, dung, "2026-10", 0, 0, exempt=True, income=1_200_000),
        member_month(1, an, "2026-11", 72_346, 77_346, income=7_234_567, arrears=5_000),
        member_month(2, binh, "2026-11", 25_000, 10_000, income=5_000_000),
        member_month(3, cuong, "2026-11", 3_000, 3_000),  # leaves at the end of November
        member_month(4, dung, "2026-11", 0, 0, exempt=True, income=1_200_000),
        member_month(1, an, "2026-12", 72_346, 72_346, income=7_234_567),
        member_month(2, binh, "2026-12", 25_000, 25_000, income=5_000_000),
        member_month(4, dung, "2026-12", 0, 0, exempt=True, income=1_200_000),
    ]
    part2 = [
        branch_month("2026-10", rows, 70_243, remitted_on="2026-11-05"),
        branch_month("2026-11", rows, 60_000, remitted_on="2026-12-04"),
        branch_month("2026-12", rows, 0),
    ]
    return DuesBook(
        "B1", "Chi bộ khu phố 1", "2026-Q4", ["2026-10", "2026-11", "2026-12"], rows, part2
    )


def year_book() -> DuesBook:
    """2026 of a branch of two members; its member counts change every month."""
    periods = [f"2026-{m:02d}" for m in range(1, 13)]
    rows = [
        member_month(no, name, p, owed, owed - (1_000 if p == "2026-05" else 0), income=owed * 100)
        for p in periods
        for no, name, owed in ((1, "Võ Thị Hoa", 50_000), (2, "Đặng Quốc Khánh", 81_234))
    ]
    part2 = [
        branch_month(p, rows, 0, members_end=10 + i, members_exempt=i % 3)
        for i, p in enumerate(periods, start=1)
    ]
    return DuesBook("B1", "Chi bộ khu phố 1", "2026", periods, rows, part2)


def read_csv_book(path: Path) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """(title line, Part I rows with its heading and header, Part II likewise)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    blank = lines.index([])
    return lines[0], lines[1:blank], lines[blank + 1 :]


def sheet_rows(ws: Worksheet) -> list[list[Any]]:
    return [list(row) for row in ws.iter_rows(min_row=5, values_only=True)]


def labelled(rows: list[list[Any]], column: int, label: str) -> list[Any]:
    [row] = [r for r in rows if r[column] == label]
    return row


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_is_utf8_with_a_bom_and_a_title_naming_the_branch_and_quarter(tmp_path: Path) -> None:
    path = tmp_path / "so.csv"
    write_csv(quarter_book(), path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    title, part1, part2 = read_csv_book(path)
    assert title == ["SỔ THU, NỘP ĐẢNG PHÍ (mẫu S01/ĐP) — Chi bộ khu phố 1 (B1) — quý IV/2026"]
    assert part1[:2] == [["Phần I. Thu đảng phí của đảng viên"], PART1_HEADERS]
    assert part2[:2] == [["Phần II. Tổng hợp thu, nộp đảng phí hằng tháng"], PART2_HEADERS]


def test_csv_part1_lists_every_member_month_then_a_month_total_and_a_grand_total(
    tmp_path: Path,
) -> None:
    book = quarter_book()
    path = tmp_path / "so.csv"
    write_csv(book, path)
    _, part1, _ = read_csv_book(path)
    body = part1[2:]
    members = [r for r in body if r[0]]
    assert len(members) == len(book.part1) == 11
    assert members[4] == [
        "1",
        "Nguyễn Văn An",
        "",
        "11/2026",
        "7234567",
        "72346",
        "5000",
        "77346",
        "77346",
        "0",
    ]
    assert ["4", "Phạm Thị Dung", "X", "12/2026", "1200000", "0", "0", "0", "0", "0"] in members
    # a fixed-amount rule has no income: the cell is blank
    assert ["3", "Lê Văn Cường", "", "10/2026", "", "3000", "0", "3000", "3000", "0"] in members
    labels = [r[1] for r in body if not r[0]]
    months = ["Cộng tháng 10/2026", "Cộng tháng 11/2026", "Cộng tháng 12/2026"]
    assert labels == [*months, "Tổng cộng quý IV/2026"]
    for label, months in (
        ("Cộng tháng 11/2026", ["2026-11"]),
        ("Tổng cộng quý IV/2026", book.periods),
    ):
        mine = [r for r in book.part1 if r.period in months]
        expected = [str(sum(getattr(r, f) for r in mine)) for f in P1_MONEY]
        assert labelled(body, 1, label)[5:] == expected
    assert labelled(body, 1, "Tổng cộng quý IV/2026")[5:] == [
        "298038",
        "5000",
        "303038",
        "288038",
        "15000",
    ]


def test_csv_part2_has_each_month_and_a_quarter_total_summing_money_and_keeping_last_counts(
    tmp_path: Path,
) -> None:
    book = quarter_book()
    path = tmp_path / "so.csv"
    write_csv(book, path)
    _, _, part2 = read_csv_book(path)
    body = part2[2:]
    assert [r[1] for r in body] == ["10/2026", "11/2026", "12/2026", "Cộng quý IV/2026"]
    assert body[0] == [
        "2026-11-05", "10/2026", "4", "1", "0", "100346", "30103", "70243", "70243", "0", RECEIVER
    ]  # fmt: skip
    assert body[2][0] == "" and body[2][-1] == ""  # December: not remitted yet
    total = body[3]
    assert total[0] == "" and total[-1] == ""
    assert total[2:4] == ["3", "1"]  # December's members, not a sum
    assert total[4:10] == [str(sum(getattr(r, f) for r in book.part2)) for f in P2_MONEY]
    # worked by hand: collected 100,346 + 90,346 + 97,346; retained 30% rounded down each month
    assert total[4:10] == ["15000", "288038", "86409", "201629", "130243", "71386"]


def test_csv_writes_amounts_as_plain_integers(tmp_path: Path) -> None:
    path = tmp_path / "so.csv"
    write_csv(quarter_book(), path)
    text = path.read_text(encoding="utf-8-sig")
    assert "7234567" in text and "7,234,567" not in text and "7.234.567" not in text


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_has_two_sheets_titled_with_vietnamese_headers_frozen_under_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "so.xlsx"
    write_xlsx(quarter_book(), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Phần I", "Phần II"]
    for ws, headers, part in (
        (wb["Phần I"], PART1_HEADERS, "Phần I. Thu đảng phí của đảng viên"),
        (wb["Phần II"], PART2_HEADERS, "Phần II. Tổng hợp thu, nộp đảng phí hằng tháng"),
    ):
        assert ws["A1"].value == "SỔ THU, NỘP ĐẢNG PHÍ (mẫu S01/ĐP)"
        assert ws["A2"].value == "Chi bộ khu phố 1 (B1) — quý IV/2026"
        assert ws["A3"].value == part
        merged = {str(r) for r in ws.merged_cells.ranges}
        last = openpyxl.utils.get_column_letter(len(headers))
        assert {f"A1:{last}1", f"A2:{last}2", f"A3:{last}3"} <= merged
        assert [c.value for c in ws[4]] == headers
        assert all(c.font.bold for c in ws[4])
        assert ws.freeze_panes == "A5"


def test_xlsx_is_set_to_print_landscape_one_page_wide(tmp_path: Path) -> None:
    path = tmp_path / "so.xlsx"
    write_xlsx(quarter_book(), path)
    for ws in openpyxl.load_workbook(path).worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr is not None
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.print_title_rows == "$4:$4"


def test_xlsx_money_cells_show_thousands_separators_and_columns_fit_their_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "so.xlsx"
    write_xlsx(quarter_book(), path)
    wb = openpyxl.load_workbook(path)
    part1, part2 = wb["Phần I"], wb["Phần II"]
    for ws, money_columns in ((part1, "EFGHIJ"), (part2, "EFGHIJ")):
        for letter in money_columns:
            cells = [c for c in ws[letter][4:] if isinstance(c.value, int)]
            assert cells and all(c.number_format == "#,##0" for c in cells), letter
        for letter in "ABCDEFGHIJ":
            assert (ws.column_dimensions[letter].width or 0) >= 6, letter
    # the widest value, "7,234,567", fits in the income column; a full name fits in its own
    assert (part1.column_dimensions["E"].width or 0) >= len("7,234,567")
    assert (part1.column_dimensions["B"].width or 0) >= len("Tổng cộng quý IV/2026")
    assert part2["A5"].number_format == "DD/MM/YYYY"
    assert part2["A5"].value.date().isoformat() == "2026-11-05"


def test_xlsx_totals_are_stored_values_equal_to_the_sums_of_the_rows(tmp_path: Path) -> None:
    book = quarter_book()
    path = tmp_path / "so.xlsx"
    write_xlsx(book, path)
    wb = openpyxl.load_workbook(path)  # data_only=False: a formula would show as text here
    part1 = sheet_rows(wb["Phần I"])
    assert len([r for r in part1 if r[0] is not None]) == len(book.part1)
    for label, months in (
        ("Cộng tháng 10/2026", ["2026-10"]),
        ("Tổng cộng quý IV/2026", book.periods),
    ):
        mine = [r for r in book.part1 if r.period in months]
        assert labelled(part1, 1, label)[5:] == [sum(getattr(r, f) for r in mine) for f in P1_MONEY]
    total_row = 5 + [r[1] for r in part1].index("Tổng cộng quý IV/2026")
    assert all(c.font.bold for c in wb["Phần I"][total_row])
    assert not wb["Phần I"]["B5"].font.bold
    quarter = labelled(sheet_rows(wb["Phần II"]), 1, "Cộng quý IV/2026")
    assert quarter[2:10] == [3, 1, *(sum(getattr(r, f) for r in book.part2) for f in P2_MONEY)]


def test_a_year_book_totals_each_quarter_and_the_year(tmp_path: Path) -> None:
    book = year_book()
    path = tmp_path / "so.xlsx"
    write_xlsx(book, path)
    rows = sheet_rows(openpyxl.load_workbook(path)["Phần II"])
    labels = [r[1] for r in rows]
    assert labels[3] == "Cộng quý I/2026" and labels[-2:] == ["Cộng quý IV/2026", "Cộng năm 2026"]
    assert len(rows) == 12 + 4 + 1
    for q, roman in enumerate(("I", "II", "III", "IV"), start=1):
        months = {f"2026-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)}
        mine = [r for r in book.part2 if r.period in months]
        total = labelled(rows, 1, f"Cộng quý {roman}/2026")
        assert total[2:4] == [10 + 3 * q, (3 * q) % 3]  # the quarter's last month
        assert total[4:10] == [sum(getattr(r, f) for r in mine) for f in P2_MONEY]
    year = labelled(rows, 1, "Cộng năm 2026")
    assert year[2:4] == [22, 0]
    assert year[5] == 12 * (50_000 + 81_234) - 2_000
    assert year[4] == 2_000  # May: each member left 1,000 unpaid
    part1 = sheet_rows(openpyxl.load_workbook(path)["Phần I"])
    assert labelled(part1, 1, "Tổng cộng năm 2026")[8] == year[5]
    assert len(part1) == 24 + 12 + 1


def test_a_single_month_book_has_one_total_per_part(tmp_path: Path) -> None:
    q = quarter_book()
    book = DuesBook(
        "B1",
        "Chi bộ khu phố 1",
        "2026-12",
        ["2026-12"],
        [r for r in q.part1 if r.period == "2026-12"],
        [r for r in q.part2 if r.period == "2026-12"],
    )
    path = tmp_path / "so.csv"
    write_csv(book, path)
    title, part1, part2 = read_csv_book(path)
    assert title[0].endswith("— tháng 12/2026")
    assert [r[1] for r in part1[2:] if not r[0]] == ["Cộng tháng 12/2026"]
    assert [r[1] for r in part2[2:]] == ["12/2026"]  # a month is not a quarter: no quarter total


# --- the period and the command ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "first", "count"),
    [
        ("2026-12", "2026-12", "2026-12", 1),
        ("2026-Q4", "2026-Q4", "2026-10", 3),
        (" 2026-q1 ", "2026-Q1", "2026-01", 3),
        ("2026", "2026", "2026-01", 12),
    ],
)
def test_a_book_period_is_a_month_a_quarter_or_a_year(
    text: str, label: str, first: str, count: int
) -> None:
    got_label, months = parse_book_period(text)
    assert got_label == label and months[0] == first and len(months) == count
    assert months == sorted(months) and len(set(months)) == count


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-Q5", "2026-Q0", "26", "2026-1", "12/2026", "Q4-2026", "", "0999"]
)
def test_a_bad_book_period_is_refused_in_both_languages(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_book_period(text)
    assert refused.value.field == "period"
    assert "YYYY-Qn" in refused.value.message_vi and "is not a period" in refused.value.message_en


def fake_read_model(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[Any, ...]]) -> None:
    """Stand in for the dues book read model and the ledger's read side."""

    def dues_book(reads: object, org: str, label: str, periods: list[str]) -> DuesBook:
        calls.append((reads, org, label, periods))
        return quarter_book()

    monkeypatch.setattr("api.cli.book.dues_book", dues_book)
    monkeypatch.setattr("api.cli.book.reads", lambda ctx: "the ledger")


def test_the_book_command_asks_the_read_model_for_the_quarter_and_writes_the_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    fake_read_model(monkeypatch, calls)
    out = tmp_path / "so.xlsx"
    cmd = ["book", "--org", "B1", "--period", "2026-Q4", "--format", "xlsx", "-o", str(out)]
    result = CliRunner().invoke(app, cmd)
    assert result.exit_code == 0, result.output
    assert calls == [("the ledger", "B1", "2026-Q4", ["2026-10", "2026-11", "2026-12"])]
    assert "quý IV/2026" in result.stdout and "288,038 đ" in result.stdout
    assert openpyxl.load_workbook(out).sheetnames == ["Phần I", "Phần II"]
    assert [p.name for p in tmp_path.iterdir()] == ["so.xlsx"]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--period", "2026-Q5", "--format", "csv"], "period"),
        (["--period", "2026-12", "--format", "pdf"], "format"),
        (["--period", "2026-12", "--format", "csv", "-o", "/nonexistent/dir/so.csv"], "output"),
    ],
)
def test_the_book_command_refuses_bad_input_before_reading_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], field: str
) -> None:
    calls: list[tuple[Any, ...]] = []
    fake_read_model(monkeypatch, calls)
    output = [] if "-o" in args else ["-o", str(tmp_path / "so.csv")]
    result = CliRunner().invoke(app, ["book", "--org", "B1", *args, *output])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Lỗi: {field}: ") and f"\nError: {field}: " in result.stderr
    assert calls == [] and list(tmp_path.iterdir()) == []
