"""Reading one statement cell: an amount in đồng, a date, a piece of text.

Rule: amounts are whole đồng, written `1,234,567`, `1.234.567` or `1234567`,
with a `+` or not, with the currency after them or not (`140,000 VND`,
`140.000 đ`); an empty cell, or `-` alone, is 0. A decimal part of zeros
(`1,000.00`, `1.140.000,00`) is whole đồng; any other (`12.5`, `1,000.50`),
another currency, text and negative credits are refused:
each parser returns the value or raises `CellError` with a message in
Vietnamese and English, which the reader turns into a row problem. A debit
may be printed negative (some banks sign withdrawals); its size is taken.
Dates are DD/MM/YYYY or D/M/YYYY (a time after them is ignored) or a real
date cell from a spreadsheet; they come back as ISO dates.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from ledger.money import MAX_DONG

Cell = str | int | float | date | None

_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d{1,3}(?:\.\d{3})+|\d+)")
# whole đồng with a decimal part of one or two digits: `1,000.00`, `1.140.000,00`, `70000.0`.
# A group of thousands always has three digits, so the mark before one or two is decimal;
# it must differ from the thousands mark before it. Only a zero part is whole đồng.
_DECIMAL = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\.(\d{1,2})|(\d{1,3}(?:\.\d{3})+|\d+),(\d{1,2})")
# the currency a bank may print after an amount: đồng only (`140,000 USD` is refused)
_DONG = re.compile(r"(?:vnd|vnđ|đồng|đ|₫)$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
EMPTY = ("", "-")  # how an amount cell with no amount is printed
# a trailing time is ignored: 24-hour, or 12-hour with AM/PM (SA/CH in Vietnamese), with
# seconds and their fractions or not (a helper's file with `21/11/2026 2:33 PM` was refused)
_DATE = re.compile(
    r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:[AaPp]\.?[Mm]\.?|SA|CH|sa|ch))?)?"
)


class CellError(ValueError):
    def __init__(self, vi: str, en: str) -> None:
        self.vi = vi
        self.en = en
        super().__init__(en)


def text(cell: Cell) -> str:
    """A cell as stripped text; whole numbers without a trailing `.0`."""
    if type(cell) is str:  # every cell of a CSV: first, as a statement has millions
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell).strip()


def blank(cell: Cell) -> bool:
    """An amount cell with no amount in it: empty, or `-` as some banks print it."""
    return text(cell) in EMPTY


def amount(cell: Cell, *, signed: bool = False) -> int:
    """Whole đồng; `signed` allows a leading minus (kept in the result)."""
    if isinstance(cell, bool | datetime | date):
        raise CellError(f"số tiền không hợp lệ: {cell}", f"not an amount: {cell}")
    if isinstance(cell, float):
        if not cell.is_integer():
            raise CellError(f"số tiền có phần lẻ: {cell}", f"amount is not whole đồng: {cell}")
        cell = int(cell)
    if isinstance(cell, int):
        value = cell
    else:
        raw = _WHITESPACE.sub("", text(cell))  # `140,000 VND`, a no-break space in Excel
        if raw in EMPTY:
            return 0
        bare = _DONG.sub("", raw)
        sign = bare[:1] if bare[:1] in ("+", "-") else ""
        negative = sign == "-"
        match = _AMOUNT.fullmatch(bare[len(sign) :])
        if match is not None:
            whole = match.group(1)
        elif (decimal := _DECIMAL.fullmatch(bare[len(sign) :])) is not None:
            whole, cents = (
                decimal.group(1) or decimal.group(3),
                decimal.group(2) or decimal.group(4),
            )
            if cents.strip("0"):
                raise CellError(
                    f"số tiền có phần lẻ: {raw} (đảng phí tính bằng đồng chẵn)",
                    f"amount is not whole đồng: {raw}",
                )
        else:
            raise CellError(f"số tiền không hợp lệ: {raw}", f"not a whole amount in đồng: {raw}")
        digits = whole.replace(",", "").replace(".", "").lstrip("0") or "0"
        if len(digits) > len(str(MAX_DONG)):  # int() refuses over 4,300 digits: a 500
            shown = raw if len(raw) <= 40 else f"{raw[:40]}…"
            raise CellError(
                f"số tiền quá lớn: {shown} (tối đa {MAX_DONG:,})",
                f"amount too large: {shown} (at most {MAX_DONG:,})",
            )
        value = -int(digits) if negative else int(digits)
    if value < 0 and not signed:
        raise CellError(f"số tiền âm: {value}", f"negative amount: {value}")
    if abs(value) > MAX_DONG:
        raise CellError(
            f"số tiền quá lớn: {value:,} (tối đa {MAX_DONG:,})",
            f"amount too large: {value:,} (at most {MAX_DONG:,})",
        )
    return value


def iso_date(cell: Cell) -> str:
    """The ISO date of a DD/MM/YYYY text or a spreadsheet date cell."""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    raw = text(cell)
    if not raw:  # it said "bad date (want DD/MM/YYYY): " with nothing after it
        raise CellError("ô ngày giao dịch trống", "the date is empty")
    match = _DATE.fullmatch(raw)
    if match is not None:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            pass
    raise CellError(
        f"ngày không hợp lệ (cần NN/TT/NNNN): {raw}", f"bad date (want DD/MM/YYYY): {raw}"
    )
