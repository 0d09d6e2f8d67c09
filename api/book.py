"""The dues book (sổ thu, nộp đảng phí, form S01/ĐP) as CSV or XLSX, ready to print.

Rule: both formats are laid out from the same lines (`part1_lines`, `part2_lines`),
so the CSV and the workbook always carry the same rows, headers and totals. Totals
are written as numbers, never as formulas (openpyxl does not compute formulas, so
a formula would read as empty to anything that looks only at stored values).
Part I is grouped by month, Part II has a row per month with quarter and year
totals; docs/book.md says why.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from api.files import write_whole
from ledger.errors import InvalidInput
from ledger.period import add_months
from projections.book_types import BranchMonth, DuesBook, MemberMonth

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

Value = str | int | date | None
TITLE = "SỔ THU, NỘP ĐẢNG PHÍ (mẫu S01/ĐP)"
PART1_TITLE = "Phần I. Thu đảng phí của đảng viên"
PART2_TITLE = "Phần II. Tổng hợp thu, nộp đảng phí hằng tháng"

# (header, kind): kind decides the number format and alignment in the workbook.
Columns = tuple[tuple[str, str], ...]
PART1_COLUMNS: Columns = (
    ("STT", "count"),
    ("Họ và tên đảng viên", "text"),
    ("Miễn", "center"),
    ("Tháng/năm", "center"),
    ("Thu nhập tính đảng phí", "money"),
    ("Đảng phí phải nộp: tháng này", "money"),
    ("Đảng phí phải nộp: truy thu", "money"),
    ("Đảng phí phải nộp: cộng", "money"),
    ("Đảng phí đã thu", "money"),
    ("Chưa nộp cuối tháng", "money"),
)
PART2_COLUMNS: Columns = (
    ("Ngày nộp cấp trên", "date"),
    ("Tháng", "center"),
    ("Số đảng viên cuối tháng", "count"),
    ("Số đảng viên miễn", "count"),
    ("Số tiền chưa thu", "money"),
    ("Số tiền đã thu", "money"),
    ("Trích giữ lại", "money"),
    ("Phải nộp cấp trên", "money"),
    ("Đã nộp", "money"),
    ("Chưa nộp", "money"),
    ("Nơi nhận", "text"),
)
HEADER_ROW = 4  # rows 1-3: the book, the organisation and period, the part; merged
_FORMATS = {"money": "#,##0", "count": "0", "date": "DD/MM/YYYY"}
_ALIGN = {"money": "right", "count": "center", "date": "center", "center": "center", "text": "left"}
_ROMAN = ("I", "II", "III", "IV")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Line:
    """One row of a part of the book; `total` rows are printed bold."""

    cells: tuple[Value, ...]
    total: bool = False


def parse_book_period(text: str) -> tuple[str, list[str]]:
    """`YYYY-MM`, `YYYY-Qn` (n 1..4) or `YYYY` → (label, the months it covers, in order)."""
    value = (text or "").strip()
    if (m := _MONTH.match(value)) and _plausible(m[1]):
        return value, [value]
    if (m := _QUARTER.match(value)) and _plausible(m[1]):
        first = f"{m[1]}-{3 * int(m[2]) - 2:02d}"
        return f"{m[1]}-Q{m[2]}", [add_months(first, i) for i in range(3)]
    if (m := _YEAR.match(value)) and _plausible(m[1]):
        return value, [add_months(f"{value}-01", i) for i in range(12)]
    raise InvalidInput(
        f"period: '{text}' không phải kỳ dạng YYYY-MM, YYYY-Qn (n từ 1 đến 4) hoặc YYYY",
        f"period: '{text}' is not a period in YYYY-MM, YYYY-Qn (n 1 to 4) or YYYY form",
        field="period",
    )


def _plausible(year: str) -> bool:
    return 1900 <= int(year) <= 2999  # the range ledger.period accepts for a month


def period_title(label: str) -> str:
    """'2026-12' → 'tháng 12/2026', '2026-Q4' → 'quý IV/2026', '2026' → 'năm 2026'."""
    if "-Q" in label:
        return f"quý {_ROMAN[int(label[-1]) - 1]}/{label[:4]}"
    if "-" in label:
        return f"tháng {label[5:7]}/{label[:4]}"
    return f"năm {label}"


def subtitle(book: DuesBook) -> str:
    return f"{book.org_name} ({book.org_code}) — {period_title(book.period_label)}"


def part1_lines(book: DuesBook) -> list[Line]:
    """Members month by month, a sub-total after each month, a grand total if several months."""
    lines: list[Line] = []
    rows = sorted(book.part1, key=lambda r: (r.period, r.no))
    months = 0
    for period, group in groupby(rows, key=lambda r: r.period):
        members = list(group)
        months += 1
        lines += [_member_line(r) for r in members]
        lines.append(_part1_total(f"Cộng {period_title(period)}", members))
    if months > 1:
        lines.append(_part1_total(f"Tổng cộng {period_title(book.period_label)}", rows))
    return lines


def part2_lines(book: DuesBook) -> list[Line]:
    """A row per month; a total after each quarter and a year total, where the book covers them."""
    rows = {r.period: r for r in book.part2}
    covered = set(book.periods)
    lines: list[Line] = []
    for period in sorted(covered | rows.keys()):
        if period in rows:
            lines.append(_branch_line(rows[period]))
        year, month = period[:4], int(period[5:7])
        quarter = [add_months(period, -i) for i in (2, 1, 0)]
        if month % 3 == 0 and covered.issuperset(quarter):
            label = f"Cộng {period_title(f'{year}-Q{month // 3}')}"
            lines.append(_part2_total(label, [rows[p] for p in quarter if p in rows]))
        whole_year = [f"{year}-{m:02d}" for m in range(1, 13)]
        if month == 12 and covered.issuperset(whole_year):
            lines.append(
                _part2_total(f"Cộng năm {year}", [rows[p] for p in whole_year if p in rows])
            )
    return lines


def _member_line(r: MemberMonth) -> Line:
    return Line(
        (
            r.no,
            r.full_name,
            "X" if r.exempt else "",
            f"{r.period[5:7]}/{r.period[:4]}",
            r.income,
            r.owed_this_month,
            r.arrears,
            r.owed_total,
            r.collected,
            r.unpaid_end,
        )
    )


def _part1_total(label: str, rows: Sequence[MemberMonth]) -> Line:
    sums = [
        sum(getattr(r, name) for r in rows)
        for name in ("owed_this_month", "arrears", "owed_total", "collected", "unpaid_end")
    ]
    return Line((None, label, None, None, None, *sums), total=True)


def _branch_line(r: BranchMonth) -> Line:
    remitted_on = date.fromisoformat(r.remitted_on) if r.remitted_on else None
    return Line(
        (
            remitted_on,
            f"{r.period[5:7]}/{r.period[:4]}",
            r.members_end,
            r.members_exempt,
            r.unpaid,
            r.collected,
            r.retained,
            r.payable,
            r.remitted,
            r.not_remitted,
            r.receiver or "",
        )
    )


def _part2_total(label: str, rows: Sequence[BranchMonth]) -> Line:
    # Member counts are a stock, not a flow: a total row shows the last month's figure.
    money = ("unpaid", "collected", "retained", "payable", "remitted", "not_remitted")
    sums = [sum(getattr(r, name) for r in rows) for name in money]
    counts = (rows[-1].members_end, rows[-1].members_exempt) if rows else (None, None)
    return Line((None, label, *counts, *sums, None), total=True)


def write_csv(book: DuesBook, path: Path) -> None:
    """One UTF-8 file with a BOM: title, Part I, a blank line, Part II; plain integer amounts."""

    def write(target: Path) -> None:
        with target.open("w", newline="", encoding="utf-8-sig") as f:
            out = csv.writer(f)
            out.writerow([f"{TITLE} — {subtitle(book)}"])
            for i, (title, columns, lines) in enumerate(_parts(book)):
                if i:
                    out.writerow([])
                out.writerow([title])
                out.writerow([header for header, _ in columns])
                out.writerows(_csv_cells(line.cells) for line in lines)

    write_whole(path, write)


def write_xlsx(book: DuesBook, path: Path) -> None:
    """Two sheets, "Phần I" and "Phần II", formatted to print on A4 landscape."""
    from openpyxl import Workbook  # loaded only when a workbook is asked for

    wb = Workbook()
    for name, (title, columns, lines) in zip(("Phần I", "Phần II"), _parts(book), strict=True):
        _fill_sheet(wb.create_sheet(name), (TITLE, subtitle(book), title), columns, lines)
    wb.remove(wb.worksheets[0])  # the empty default sheet
    write_whole(path, wb.save)


def _parts(book: DuesBook) -> list[tuple[str, Columns, list[Line]]]:
    return [
        (PART1_TITLE, PART1_COLUMNS, part1_lines(book)),
        (PART2_TITLE, PART2_COLUMNS, part2_lines(book)),
    ]


def _fill_sheet(ws: Worksheet, titles: Sequence[str], columns: Columns, lines: list[Line]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    for row, (text, size) in enumerate(zip(titles, (14, 12, 12), strict=True), start=1):
        title = ws.cell(row, 1, text)
        title.font = Font(bold=row != 2, size=size)
        title.alignment = Alignment(horizontal="center")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
    thin = Side(style="thin")
    grid = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col, (header, _) in enumerate(columns, start=1):
        head = ws.cell(HEADER_ROW, col, header)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head.fill = PatternFill("solid", fgColor="DDDDDD")
        head.border = grid
    for r, line in enumerate(lines, start=HEADER_ROW + 1):
        for col, (value, (_, kind)) in enumerate(zip(line.cells, columns, strict=True), start=1):
            c = ws.cell(r, col, value)
            c.number_format = _FORMATS.get(kind, "General")
            c.alignment = Alignment(horizontal=_ALIGN[kind])
            c.border = grid
            c.font = Font(bold=line.total)
    _fit_columns(ws, columns, lines)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    if ws.sheet_properties.pageSetUpPr is not None:  # always set by openpyxl; the stubs allow None
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    if ws.oddFooter is not None:
        ws.oddFooter.center.text = "Trang &P/&N"


def _fit_columns(ws: Worksheet, columns: Columns, lines: list[Line]) -> None:
    """Width from the widest value; headers wrap, so the longest word sets their minimum."""
    from openpyxl.utils import get_column_letter

    header_lines = 1
    for col, (header, kind) in enumerate(columns, start=1):
        shown = [len(_shown(line.cells[col - 1], kind)) for line in lines]
        words = max(len(word) for word in header.split())
        width = min(max([*shown, words, len(header) // 3, 4]) + 2, 40)
        ws.column_dimensions[get_column_letter(col)].width = width
        header_lines = max(header_lines, -(-len(header) // (width - 1)))
    ws.row_dimensions[HEADER_ROW].height = 15 * header_lines


def _shown(value: Value, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return f"{value:,}" if isinstance(value, int) and kind == "money" else str(value)


def _csv_cells(cells: Iterable[Value]) -> list[str | int]:
    return ["" if c is None else c.isoformat() if isinstance(c, date) else c for c in cells]
