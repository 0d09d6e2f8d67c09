"""A bank statement export read into `BankTransactionFact`s, all or nothing.

Rule: the header row is the first of the file's first rows that a layout
recognises (title rows above it are passed over); with `layout=None` the
layouts are tried in `LAYOUTS` order. Every row below it is a transaction,
except blank rows and dateless rows that are totals (`Tổng`, `Total`, ...)
or carry no amount (notes, signatures). Every bad row is reported with its
line number in one `ImportRejected`; nothing is returned partially.

A line's `external_id` is the bank's reference when it is non-empty and
unique in the file, otherwise a content hash of account, date, direction,
amount, reference, narrative and the count of identical earlier lines; so
re-reading a file, or one that overlaps it, gives the same ids, while two
genuinely identical transfers stay two.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from datetime import date as date_type
from pathlib import Path
from typing import TypeVar

from ledger.errors import ImportRejected, InvalidInput
from ledger.ports import BankTransactionFact

from .layouts import FIELD_NAMES, LAYOUTS, Layout, fold, header_keys
from .sources import DELIMITERS, Row, csv_rows, csv_text, xlsx_sheets
from .values import Cell, CellError, amount, blank, iso_date, text

HEADER_SCAN = 30  # rows searched for the header
# a totals row's label as written (`Tổng …`, `Cộng …`, `Total(s) …`), or, folded (an export
# without diacritics), the whole label or its first words
_TOTALS_VI = re.compile(r"^(tổng|cộng|totals?|grand total|sub ?total|số dư)\b")
_TOTALS = re.compile(
    r"^(tong|cong|total)$"
    r"|^(tong cong|tong so|tong phat sinh|tong total|cong phat sinh|total|grand total"
    r"|subtotal|sub total|so du|opening|closing|balance)\b"
)
# a totals label as the whole narrative of a row with an empty date (`Tổng cộng`, `Cộng
# phát sinh`, `Tổng cộng / Total`): only the label, since a payer's memo may begin as one
# does ("Tổng hợp đảng phí …", "Cộng đoàn phí …")
_TOTALS_NARRATIVE = re.compile(
    r"(?:tổng cộng|tổng số|tổng|cộng)(?: phát sinh)?(?: trong kỳ)?|(?:grand |sub ?)?totals?"
)
_TOTALS_NARRATIVE_FOLDED = re.compile(
    r"(?:tong cong|tong so)(?: phat sinh)?(?: trong ky)?|(?:tong|cong) phat sinh(?: trong ky)?"
)
WHAT = "sao kê / statement"
_DIGIT = re.compile(r"\d")
# whitespace and control characters (a NUL, which PostgreSQL text cannot hold, a tab, a
# line feed in a cell) become one space
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
T = TypeVar("T")


@dataclass(frozen=True)
class Statement:
    account_number: str
    bin_code: str | None
    facts: tuple[BankTransactionFact, ...]
    opening_balance: int | None
    closing_balance: int | None
    layout: str


@dataclass(frozen=True)
class _Line:
    date: str
    direction: str
    amount: int
    reference: str | None
    narrative: str
    balance: int | None
    date_cell: bool = False  # a spreadsheet's date cell, not text
    row: int = 0


def read_statement(
    path: Path,
    *,
    bin_code: str | None,
    account_number: str,
    layout: str | None = None,
    not_after: date | None = None,
    not_before: date | None = None,
) -> Statement:
    """The transactions of a `.csv` (UTF-8) or `.xlsx` statement export of one account.
    `not_after`, `not_before`: the latest and earliest value dates accepted; another is a
    row problem, reported with the rest (the ledger refuses such a line too, but could
    name only one, by key)."""
    account = account_number.strip()
    if not account:
        raise InvalidInput("Thiếu số tài khoản", "The account number is missing", field="account")
    candidates = _candidates(layout)
    tables: list[list[Row]] = []
    sheets = _tables(Path(path))
    sheet: str | None = None
    for title, rows in sheets:  # a CSV is parsed again only if its header is not found
        tables.append(rows)
        found = _find_header(rows, candidates)
        if found is not None:
            sheet = title
            break
    else:
        raise _missing_columns(tables, candidates)
    if sheet is not None:
        _one_statement_sheet(Path(path), sheet, sheets, candidates)
    chosen, columns, header, start = found
    _check_named_account(rows[: start - 1], account)
    bounds = (
        None if not_before is None else not_before.isoformat(),
        None if not_after is None else not_after.isoformat(),
    )
    width = max(i for i, c in enumerate(header) if c) + 1
    csv_file = Path(path).suffix.lower() == ".csv"
    parsed, passed_over = _parse(rows[start:], columns, chosen, bounds, width, csv_file)
    lines = _oldest_first(parsed)
    if "debit" not in columns and "type" not in columns:
        _check_signs(lines)
    opening = closing = None
    first_balance = lines[0].balance if lines else None
    if first_balance is not None:
        first = lines[0]
        opening = first_balance + (first.amount if first.direction == "out" else -first.amount)
    if lines:
        closing = lines[-1].balance
    _check_printed_balances(
        _printed_balances(rows[: start - 1], None) + _printed_balances(passed_over, columns),
        lines,
        opening,
        closing,
    )
    return Statement(
        account_number=account,
        bin_code=bin_code,
        facts=_facts(lines, f"statement:{chosen.name}", bin_code, account),
        opening_balance=opening,
        closing_balance=closing,
        layout=chosen.name,
    )


# "Số tài khoản: 1018 795 282", "STK 1018795282", "Account No.: 1018795282", "Tài khoản:
# 1018795282" in a title row, compared folded (no diacritics, lower case, punctuation as
# spaces). A number straight after the label: "Tài khoản đối ứng …" names no account here.
# "Tài khoản thanh toán: …", "A/C No: …", "TK: …" were not read as naming one, so another
# account's export was imported as this one's: up to three words may follow `tài khoản`,
# but not `đối ứng` (the other party's account); `Chủ`/`Tên tài khoản` is the holder's name.
_NAMED_ACCOUNT = re.compile(
    r"\b(?:so tai khoan|tai khoan so|(?<!chu )(?<!ten )tai khoan(?: (?!doi\b)[a-z]+){0,3}|stk|so tk|tk"
    r"|a/c(?: no| number)?|account(?: no| number)?)\s+(?:\|\s+)?"
    r"(\d+(?:[ -]\d+)*)"
)


def _check_named_account(title_rows: Sequence[Row], account: str) -> None:
    """A title row above the header that names an account (a label, then its number) must
    name this one: a file exported for another account is refused, not recorded under
    this one. Title rows that name no account are not a problem."""
    wanted = re.sub(r"\D", "", account).lstrip("0")
    named: list[str] = []
    for _, cells in title_rows:
        # the row's cells read together: "Số tài khoản:" in one cell, the number in the next
        row = " | ".join(fold(text(cell)) for cell in cells if text(cell))
        for match in _NAMED_ACCOUNT.finditer(row):
            digits = re.sub(r"\D", "", match.group(1))
            if len(digits) >= 6:  # an account number, not "account 1" of a list
                named.append(digits)
    # the same number, leading zeros aside (not one that merely contains it: 91012345678)
    if named and not any(digits.lstrip("0") == wanted for digits in named):
        other = named[0]
        raise InvalidInput(
            f"Tệp sao kê ghi tài khoản {other}, không phải tài khoản {account} đang nhập "
            f"(chọn đúng tổ chức hoặc --account {other})",
            f"The statement file names account {other}, not the account being imported, "
            f"{account} (choose the right organisation, or --account {other})",
            field="file",
        )


def _candidates(name: str | None) -> list[Layout]:
    if name is None:
        return list(LAYOUTS.values())
    if name not in LAYOUTS:
        known = ", ".join(LAYOUTS)
        raise InvalidInput(
            f"Không có mẫu sao kê '{name}' (có: {known})",
            f"No statement layout '{name}' (known: {known})",
            field="layout",
        )
    return [LAYOUTS[name]]


def _tables(path: Path) -> Iterator[tuple[str | None, list[Row]]]:
    """The file's rows: a CSV's with each delimiter in turn (asked for one at a time); a
    workbook's sheet by sheet, with its title."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        content = csv_text(path)
        for delimiter in DELIMITERS:
            yield None, csv_rows(content, delimiter)
        return
    if suffix == ".xlsx":
        yield from xlsx_sheets(path)
        return
    raise InvalidInput(
        f"Chỉ nhận sao kê .csv (UTF-8) hoặc .xlsx, không nhận '{suffix or path.name}'",
        f"Only .csv (UTF-8) or .xlsx statements are accepted, not '{suffix or path.name}'",
        field="file",
    )


def _one_statement_sheet(
    path: Path,
    sheet: str,
    others: Iterator[tuple[str | None, list[Row]]],
    candidates: list[Layout],
) -> None:
    """The statement is on the first sheet with a header the layouts know (a cover or a
    summary may come before it: read as the first sheet only, such a workbook was refused
    as lacking its columns). A workbook with a statement on more than one sheet (a sheet
    per month) is refused: reading one of them would leave the others' lines out."""
    more = [str(name) for name, rows in others if _find_header(rows, candidates) is not None]
    if more:
        names = ", ".join([sheet, *more])
        raise InvalidInput(
            f"Tệp Excel {path.name} có sao kê ở nhiều trang tính ({names}); "
            "hãy lưu mỗi trang thành một tệp và nhập từng tệp",
            f"The workbook {path.name} holds a statement on several sheets ({names}); "
            "save each sheet as its own file and import each",
            field="file",
        )


def _header_rows(rows: list[Row]) -> list[tuple[int, list[str]]]:
    """(index in rows, texts) of the first non-blank rows, where the header may be."""
    found: list[tuple[int, list[str]]] = []
    for i, (_, cells) in enumerate(rows):
        if len(found) == HEADER_SCAN:
            break  # not every row of a 200,000-line file
        texts = [text(c) for c in cells] if any(cells) else []
        if any(texts):
            found.append((i, texts))
    return found


def _find_header(
    rows: list[Row], candidates: list[Layout]
) -> tuple[Layout, dict[str, int], list[str], int] | None:
    """The layout, its columns, the header's labels and the index in `rows` of the first
    row after it. A header may take two rows (`_two_rows`)."""
    for index, texts in _header_rows(rows):
        below = [text(c) for c in rows[index + 1][1]] if index + 1 < len(rows) else []
        for layout in candidates:
            both = _two_rows(texts, below, layout)
            if both is not None and not layout.missing(both):
                return layout, layout.match(both), both, index + 2
            if not layout.missing(texts):
                return layout, layout.match(texts), texts, index + 1
    return None


def _two_rows(upper: list[str], lower: list[str], layout: Layout) -> list[str] | None:
    """A header drawn over two rows: a group label (`Số tiền`, `Phát sinh`) over its
    columns' labels (`Ghi nợ | Ghi có`), the other labels in the upper row (merged down
    over both, in a spreadsheet). Each column is named by its lower label, else its upper
    one. It is one when the row below holds only labels of the layout, and the upper
    row's cells over an empty one are labels too, at least one (a title row above a
    header has none such, or text that is no label). Read as one row, the labels below
    were missed ('lacks the columns: debit, credit') or read as a line."""
    known = {fold(label) for labels in layout.labels.values() for label in labels}
    width = max(len(upper), len(lower))
    upper, lower = upper + [""] * (width - len(upper)), lower + [""] * (width - len(lower))
    alone = [above for above, below in zip(upper, lower, strict=True) if above and not below]
    if not any(lower) or not alone:
        return None
    if not all(header_keys(cell) & known for cell in alone + [c for c in lower if c]):
        return None
    return [below or above for above, below in zip(upper, lower, strict=True)]


def _missing_columns(tables: list[list[Row]], candidates: list[Layout]) -> InvalidInput:
    header_rows = [row for rows in tables for row in _header_rows(rows)]
    if not header_rows:
        return InvalidInput("Tệp sao kê rỗng", "The statement file is empty", field="file")
    missing = min(
        (layout.missing(texts) for _, texts in header_rows for layout in candidates), key=len
    )
    vi = ", ".join(FIELD_NAMES[f][0] for f in missing)
    en = ", ".join(FIELD_NAMES[f][1] for f in missing)
    if "debit" in missing or "credit" in missing:  # one amount column would do for both
        vi += " (hoặc một cột Số tiền có dấu)"
        en += " (or one signed amount column)"
    return InvalidInput(
        f"Sao kê thiếu cột: {vi}", f"The statement lacks the columns: {en}", field="header"
    )


Bounds = tuple[str | None, str | None]  # the earliest and latest ISO dates accepted


def _parse(
    rows: Sequence[Row],
    columns: dict[str, int],
    layout: Layout,
    bounds: Bounds,
    width: int,
    csv_file: bool,
) -> tuple[list[_Line], list[Row]]:
    """`width`: the header's columns; a row with a value beyond them is refused (an
    unquoted comma in a memo shifts every cell after it: read as it stands, the memo
    would be cut there and a payment's code lost; `_beyond_the_table`)."""
    lines: list[_Line] = []
    passed_over: list[Row] = []  # totals, balances, notes: where a printed balance may be
    problems: list[tuple[int, str, str]] = []
    for number, cells in rows:
        if _beyond_the_table(cells, columns, width, csv_file):
            problems.append(
                (
                    number,
                    f"có {len(cells)} giá trị, tiêu đề chỉ có {width} cột "
                    "(dấu phẩy trong diễn giải cần nằm trong ngoặc kép)",
                    f"has {len(cells)} values, the header only {width} columns "
                    "(a comma in the narrative must be inside quotes)",
                )
            )
            continue
        try:
            line = _line(cells, columns, layout, bounds, number)
        except _RowProblems as bad:
            problems += [(number, error.vi, error.en) for error in bad.errors]
            continue
        if line is not None:
            lines.append(line)
        elif any(text(c) for c in cells):
            passed_over.append((number, cells))
    if problems:
        raise ImportRejected(problems, WHAT)
    _check_swapped_dates(lines)
    return lines, passed_over


def _beyond_the_table(
    cells: list[Cell], columns: dict[str, int], width: int, csv_file: bool
) -> bool:
    """A row whose values run past the header's last column: cells shifted by an unquoted
    comma (CSV), or a memo split into the next cell. In a spreadsheet, a note beside the
    table (after a blank column, or on a row with no amount: a signature) is passed over."""
    if len(cells) <= width or not any(text(c) for c in cells[width:]):
        return False
    if csv_file:
        return True
    amounts = [
        cells[i]
        for f in ("debit", "credit", "amount")
        if (i := columns.get(f)) is not None and i < len(cells)
    ]
    return bool(text(cells[width])) and not all(blank(a) for a in amounts)


class _RowProblems(Exception):
    def __init__(self, errors: list[CellError]) -> None:
        self.errors = errors


def _line(
    cells: list[Cell], columns: dict[str, int], layout: Layout, bounds: Bounds, row: int = 0
) -> _Line | None:
    def cell(field: str) -> Cell:
        index = columns.get(field)
        return cells[index] if index is not None and index < len(cells) else None

    if not any(text(c) for c in cells):
        return None
    # one signed amount column (and maybe a type column) where there are no debit and
    # credit columns (`Layout.missing`)
    one_column = "debit" not in columns
    money = [cell("amount")] if one_column else [cell("debit"), cell("credit")]
    errors: list[CellError] = []
    date: str | None = None
    try:
        date = iso_date(cell("date"))
    except CellError as bad_date:
        if _is_note(cells, money) or _is_total(cell("date"), cell("narrative")):
            return None
        errors.append(bad_date)
    if (
        date is not None
        and all(blank(c) for c in money)
        and _balance_label(text(cell("narrative"))) is not None
    ):
        return None  # a dated opening or closing balance: "01/12/2026 | Số dư đầu kỳ | 5,000,000"
    earliest, latest = bounds
    if date is not None and latest is not None and date > latest:
        errors.append(
            CellError(
                f"ngày {_dmy(date)} quá xa trong tương lai (muộn nhất {_dmy(latest)})",
                f"dated {date}, too far in the future (at the latest {latest})",
            )
        )
    if date is not None and earliest is not None and date < earliest:
        errors.append(
            CellError(
                f"ngày {_dmy(date)} quá sớm (sớm nhất {_dmy(earliest)})",
                f"dated {date}, too early (at the earliest {earliest})",
            )
        )
    if one_column:
        kind = text(cell("type")) if "type" in columns else None
        moved = _one_column(errors, cell("amount"), kind, layout)
    else:
        moved = _debit_or_credit(errors, cell("debit"), cell("credit"))
    balance = None
    if "balance" in columns and not blank(cell("balance")):  # `-`: none printed
        balance = _checked(errors, lambda: amount(cell("balance"), signed=True), "số dư", "balance")
    if errors or date is None or moved is None:
        raise _RowProblems(errors)
    direction, size = moved
    return _Line(
        date=date,
        direction=direction,
        amount=size,
        reference=_SPACES.sub(" ", text(cell("reference"))).strip() or None,
        narrative=_SPACES.sub(" ", text(cell("narrative"))),
        balance=balance,
        date_cell=isinstance(cell("date"), date_type),
        row=row,
    )


def _debit_or_credit(errors: list[CellError], debit: Cell, credit: Cell) -> tuple[str, int] | None:
    """A debit column and a credit column: exactly one holds the line's amount."""
    out = _checked(errors, lambda: abs(amount(debit, signed=True)), "ghi nợ", "debit")
    into = _checked(errors, lambda: amount(credit), "ghi có", "credit")
    if out and into:
        errors.append(CellError("có cả ghi nợ và ghi có", "has both a debit and a credit"))
    elif out == 0 and into == 0:
        errors.append(CellError("không có số tiền ghi nợ hay ghi có", "has no debit or credit"))
    if out is None or into is None or bool(out) == bool(into):
        return None
    return ("in", into) if into else ("out", out)


def _one_column(
    errors: list[CellError], value: Cell, kind: str | None, layout: Layout
) -> tuple[str, int] | None:
    """One amount column: without a type column its sign is the direction (negative out);
    with one, the type says it (`Layout.directions`), and a credit printed negative
    contradicts it. An empty or unknown type is refused, never taken for a credit."""
    signed = _checked(errors, lambda: amount(value, signed=True), "số tiền", "amount")
    direction: str | None = None
    if kind is None:
        direction = None if not signed else ("in" if signed > 0 else "out")
    else:
        direction = layout.direction(kind)
        into, out = (layout.directions.get(d, ("?",))[0] for d in ("in", "out"))
        if not kind:
            errors.append(
                CellError(
                    f"cột loại giao dịch trống (cần {into} hoặc {out})",
                    f"the type column is empty (want {into} or {out})",
                )
            )
        elif direction is None:
            errors.append(
                CellError(
                    f"loại giao dịch không rõ: '{kind}' (cần {into} hoặc {out})",
                    f"unknown transaction type '{kind}' (want {into} or {out})",
                )
            )
        elif direction == "in" and signed is not None and signed < 0:
            errors.append(
                CellError(
                    f"cột số tiền: số tiền âm cho giao dịch ghi có (loại {kind}): {signed}",
                    f"amount column: negative amount for a credit (type {kind}): {signed}",
                )
            )
            return None
    if signed == 0:
        errors.append(CellError("không có số tiền", "has no amount"))
    if signed is None or direction is None or signed == 0:
        return None
    return direction, abs(signed)


def _check_signs(lines: list[_Line]) -> None:
    """One amount column and no type column: its sign is the direction. A bank that
    prints money out without a minus would have every line read as money in; where the
    printed balances show a line taking its amount out, the file is refused (the
    mapping needs a type column, docs/statements.md), never booked the wrong way."""
    wrong = [
        line
        for before, line in itertools.pairwise(lines)
        if before.balance is not None
        and line.balance is not None
        and line.direction == "in"
        and before.balance - line.amount == line.balance
    ]
    if wrong:
        first = wrong[0]
        where = f"{first.date} {first.reference or ''}".strip()
        raise InvalidInput(
            f"Cột số tiền không có dấu cho tiền ra: số dư in cho thấy {len(wrong)} dòng "
            f"(đầu tiên {where}, {first.amount:,}) là tiền ra mà đọc thành tiền vào; cần một "
            "cột loại giao dịch (Nợ/Có) trong cách đọc của ngân hàng (docs/statements.md)",
            f"The amount column has no sign for money out: the printed balances show "
            f"{len(wrong)} line(s) (first {where}, {first.amount:,}) taking money out that "
            "would be read as money in; the bank's mapping needs a type (D/C) column "
            "(docs/statements.md)",
            field="file",
        )


def _oldest_first(lines: list[_Line]) -> list[_Line]:
    """The lines in the order they happened. Some banks list the newest first: the dates
    fall, or (one day) each printed balance follows from the next line's, not from the
    one before. Read as it stood, such a file gave the opening and closing balances of
    its ends the wrong way round (a helper's check)."""
    if len(lines) < 2:
        return lines

    def signed(line: _Line) -> int:
        return line.amount if line.direction == "in" else -line.amount

    pairs = list(itertools.pairwise(lines))
    ahead = sum(
        1
        for a, b in pairs
        if a.balance is not None and b.balance is not None and a.balance + signed(b) == b.balance
    )
    behind = sum(
        1
        for a, b in pairs
        if a.balance is not None and b.balance is not None and b.balance + signed(a) == a.balance
    )
    if ahead != behind:  # the printed balances say which way the lines run
        return lines[::-1] if behind > ahead else lines
    # no balances to tell: dates that never rise and do fall (a correction dated back
    # at the end of an ordered file does not reverse it)
    falling = all(a.date >= b.date for a, b in pairs) and lines[0].date > lines[-1].date
    return lines[::-1] if falling else lines


# a printed opening or closing balance's label, folded, each side of a `/` ("Số dư đầu kỳ /
# Opening balance:"): the label alone, so "Số dư cuối ngày" (a day's) is not the file's
_BALANCE_LABELS = {
    "opening": {"so du dau ky", "so du dau", "opening balance", "beginning balance"},
    "closing": {"so du cuoi ky", "so du cuoi", "closing balance", "ending balance"},
}
# a label and its amount in one cell: "Số dư đầu kỳ: 5,000,000 VND"
_LABEL_AND_AMOUNT = re.compile(r"^(.*?[^\d\s+-])[\s:]*([+-]?\d[\d.,]*(?:\s*\S+)?)$")


def _balance_label(raw: str) -> str | None:
    """`opening`, `closing`, or None: what a cell's label (alone) says it prints."""
    parts = [part.strip() for part in fold(raw).split("/")]
    for kind, labels in _BALANCE_LABELS.items():
        if parts and all(part in labels for part in parts if part) and any(parts):
            return kind
    return None


def _printed_balances(
    rows: Sequence[Row], columns: dict[str, int] | None
) -> list[tuple[str, int, int]]:
    """(kind, row number, amount) of each opening or closing balance a row prints: its
    label in a cell, its amount in the same cell after it, in the balance column (below
    the header), or in the next cell that is not empty (a title row)."""
    found: list[tuple[str, int, int]] = []
    for number, cells in rows:
        texts = [text(c) for c in cells]
        for i, raw in enumerate(texts):
            if not raw or not raw[0].isalpha():
                continue
            value: Cell = None
            kind = _balance_label(raw)
            if kind is None:
                match = _LABEL_AND_AMOUNT.match(raw)
                if match is None or (kind := _balance_label(match.group(1))) is None:
                    continue
                value = match.group(2)
            elif columns is not None and "balance" in columns:
                index = columns["balance"]
                value = cells[index] if index < len(cells) and index != i else None
            if value is None or blank(value):
                value = next((cells[j] for j in range(i + 1, len(cells)) if texts[j]), None)
            if value is None:
                continue
            try:
                found.append((kind, number, amount(value, signed=True)))
            except CellError:
                continue  # a label with no amount beside it ("Số dư cuối kỳ | Ngày …")
            break
    return found


def _check_printed_balances(
    printed: list[tuple[str, int, int]],
    lines: list[_Line],
    opening: int | None,
    closing: int | None,
) -> None:
    """A statement's printed opening and closing balances must agree with its lines: the
    balance before the first line, after the last; without a balance column, the opening
    plus the lines must make the closing. A disagreement means a line missing from the
    export, or one read wrongly: the file is refused, naming the row. Checked only where
    the file prints one of each at most (an export per month may print several)."""
    openings = [p for p in printed if p[0] == "opening"]
    closings = [p for p in printed if p[0] == "closing"]
    if len(openings) > 1 or len(closings) > 1:
        return
    problems: list[tuple[int, str, str]] = []
    if openings and opening is not None and openings[0][2] != opening:
        _, number, value = openings[0]
        problems.append(
            (
                number,
                f"số dư đầu kỳ in trên sao kê {value:,} khác số dư trước dòng đầu tiên "
                f"{opening:,} (theo cột số dư)",
                f"the printed opening balance {value:,} differs from the balance before "
                f"the first line, {opening:,} (by the balance column)",
            )
        )
    if closings:
        _, number, value = closings[0]
        expected = closing
        if expected is None and openings:
            net = sum(line.amount if line.direction == "in" else -line.amount for line in lines)
            expected = openings[0][2] + net
        if expected is not None and value != expected:
            problems.append(
                (
                    number,
                    f"số dư cuối kỳ in trên sao kê {value:,} khác số dư các dòng cho ra "
                    f"{expected:,}: sao kê thiếu một dòng, hoặc một số tiền bị đọc sai",
                    f"the printed closing balance {value:,} differs from {expected:,}, "
                    "the balance its lines give: a line is missing from the export, or an "
                    "amount was misread",
                )
            )
    if problems:
        raise ImportRejected(problems, WHAT)


def _check_swapped_dates(lines: list[_Line]) -> None:
    """A workbook whose date column holds spreadsheet dates, all on a day up to 12, and
    text dates, all on a day after 12, is a bank's DD/MM/YYYY text opened by a program
    reading dates month first: `01/12/2026` became 12 January, `15/12/2026` (no 15th
    month) stayed text. Read as it stands, every such line was dated wrongly; refused,
    naming the first (a workbook of dates alone, or of text alone, cannot show it)."""
    cells = [line for line in lines if line.date_cell]
    texts = [line for line in lines if not line.date_cell]
    if not cells or not texts:
        return
    if all(int(line.date[8:]) > 12 for line in texts) and all(
        int(line.date[8:]) <= 12 for line in cells
    ):
        first = cells[0]
        raise ImportRejected(
            [
                (
                    first.row,
                    f"ô ngày {_dmy(first.date)} là ngày của Excel, còn {len(texts)} dòng ghi "
                    "ngày dạng chữ, đều sau ngày 12: tệp đã bị mở bằng chương trình đọc "
                    "tháng trước ngày, ngày và tháng của các ô ngày có thể đã bị đảo; hãy "
                    "tải lại sao kê từ ngân hàng, không mở và lưu lại",
                    f"the date cell {first.date} is a spreadsheet date while {len(texts)} "
                    "line(s) have text dates, all after the 12th: the file was opened by a "
                    "program reading month first, so its date cells may have day and month "
                    "swapped; download the statement again and import it unsaved",
                )
            ],
            WHAT,
        )


def _dmy(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def _checked(
    errors: list[CellError], parse: Callable[[], T], column_vi: str = "", column_en: str = ""
) -> T | None:
    """The parsed value, or None with its error kept (naming the column, when given)."""
    try:
        return parse()
    except CellError as error:
        if column_en:
            error = CellError(f"cột {column_vi}: {error.vi}", f"{column_en} column: {error.en}")
        errors.append(error)
        return None


def _is_note(cells: list[Cell], money: list[Cell]) -> bool:
    """A row without a valid date to pass over: one with no amount (a note, a signature:
    "Người lập biểu"), or a totals row, whose first text is a totals label (`Tổng cộng`,
    `Tổng / Total`, `Cộng phát sinh`, `Số dư cuối kỳ`). A row with an amount and any other
    first text is a line whose date is missing: refused, never dropped ("Tống Văn Hùng",
    "Công ty ...", "Cộng đồng ..." begin as a total's label does, folded, and were dropped)."""
    # a money cell with no digit holds no amount: a signature's name or title spread over
    # the columns ("Người lập biểu | | | Kiểm soát" puts "Kiểm soát" under Ghi có)
    if all(blank(cell) or not _DIGIT.search(text(cell)) for cell in money):
        return True
    raw = next((text(c) for c in cells if text(c)), "")
    words = " ".join(unicodedata.normalize("NFC", raw).lower().replace("/", " ").split())
    words = words.replace(":", " ").strip()
    if words.startswith(("tổng công ty", "tong cong ty")):  # a corporation, not a total
        return False
    if _TOTALS_VI.match(words):  # with its tone marks: Tổng, not Tống; Cộng, not Công
        return True
    return _TOTALS.match(" ".join(fold(raw).replace("/", " ").split())) is not None


def _is_total(date: Cell, narrative: Cell) -> bool:
    """A totals row whose date cell is empty and whose narrative is a totals label, whole
    (its first text is an amount, so `_is_note` cannot tell): it was refused as a line
    with a bad date."""
    if text(date):
        return False
    words = unicodedata.normalize("NFC", text(narrative)).lower()
    parts = [" ".join(part.split()) for part in re.split(r"[/:]", words)]
    parts = [part for part in parts if part]
    return bool(parts) and all(
        _TOTALS_NARRATIVE.fullmatch(part) or _TOTALS_NARRATIVE_FOLDED.fullmatch(part)
        for part in parts
    )


def _facts(
    lines: list[_Line], source: str, bin_code: str | None, account: str
) -> tuple[BankTransactionFact, ...]:
    # a reference keys a line when it is unique among the lines of its direction: a bank
    # may print a reversal with its original's reference (the key holds the direction)
    references = Counter((line.reference, line.direction) for line in lines if line.reference)
    seen: Counter[str] = Counter()
    facts = []
    for line in lines:
        basis = (
            f"{account}|{line.date}|{line.direction}|{line.amount}|"
            f"{line.reference or ''}|{line.narrative}"
        )
        occurrence = seen[basis]
        seen[basis] += 1
        unique = bool(line.reference) and references[(line.reference, line.direction)] == 1
        digest = hashlib.sha256(f"{basis}|{occurrence}".encode()).hexdigest()[:24]
        external_id = line.reference if unique and line.reference else digest
        facts.append(
            BankTransactionFact(
                source=source,
                external_id=external_id,
                bin_code=bin_code,
                account_number=account,
                direction=line.direction,
                amount=line.amount,
                value_date=line.date,
                narrative=line.narrative,
                counterparty=None,
                reference=line.reference,
                balance=line.balance,
                reference_is_key=unique,
                content_id=digest,
            )
        )
    return tuple(facts)
