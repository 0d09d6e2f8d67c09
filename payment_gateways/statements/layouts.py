"""Which header labels name which column: a bank's layout is data, not code.

Rule: a `Layout` maps each canonical field (`date`, `reference`, `type`, `debit`,
`credit`, `amount`, `balance`, `narrative`) to the header labels a bank uses for it.
Labels are compared folded (`fold`): diacritics dropped (đ→d), lower-cased,
punctuation and a parenthesised unit such as `(VND)` removed, spaces
collapsed. A header cell like `Ghi nợ/Debit` matches a label equal to the
whole cell or to either side of the slash. `date` and `narrative` are
required, and the money: `debit` and `credit` columns, or else one `amount`
column (signed, negative out; or with a `type` column of C/D, Có/Nợ, read by
the layout's `directions`). `reference` and `balance` are optional. To support
a new bank, add an entry to `LAYOUTS` (see docs/statements.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# `type` before `debit` and `credit`: a type column headed `Nợ/Có` answers to `Nợ` and `Có`
# too, and taken as the debit column it left an unsigned amount read as credits
FIELDS = ("date", "reference", "type", "debit", "credit", "amount", "balance", "narrative")
REQUIRED = ("date", "debit", "credit", "narrative")  # or `amount` for `debit` and `credit`
FIELD_NAMES = {  # field -> (Vietnamese, English), for messages
    "date": ("Ngày giao dịch", "transaction date"),
    "reference": ("Số tham chiếu", "reference"),
    "debit": ("Ghi nợ", "debit"),
    "credit": ("Ghi có", "credit"),
    "amount": ("Số tiền", "amount"),
    "type": ("Loại giao dịch", "transaction type"),
    "balance": ("Số dư", "balance"),
    "narrative": ("Diễn giải", "narrative"),
}

_PARENS = re.compile(r"\([^)]*\)")
_PUNCT = re.compile(r"[^\w/ ]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """A label as compared: no diacritics, lower case, no punctuation or `(unit)`, single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = _PUNCT.sub(" ", _PARENS.sub(" ", text.lower()))
    return _SPACES.sub(" ", text).strip()


def header_keys(cell: str) -> set[str]:
    """The folded forms a header cell answers to: the whole cell and each side of a `/`;
    in a cell written on several lines (`Ngày giao dịch⏎Transaction Date`, a spreadsheet's
    wrapped bilingual label), each line too."""
    keys: set[str] = set()
    lines = cell.splitlines()
    for part in [cell, *lines] if len(lines) > 1 else [cell]:
        whole = fold(part)
        keys |= {whole.replace(" / ", "/"), *(side.strip() for side in whole.split("/"))}
    return {k for k in keys if k}


# what a type column's cell says, compared folded: money in (a credit), money out (a debit)
DIRECTIONS: Mapping[str, tuple[str, ...]] = {
    "in": ("C", "CR", "Có", "Ghi có", "Credit"),
    "out": ("D", "DR", "Nợ", "Ghi nợ", "Debit"),
}


@dataclass(frozen=True)
class Layout:
    """The accepted header labels of each canonical field, for one bank's export, and the
    words of its type column (if it has one) for money in and money out."""

    name: str
    labels: Mapping[str, tuple[str, ...]]
    directions: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DIRECTIONS)

    def direction(self, cell: str) -> str | None:
        """`in`, `out`, or None for a type cell that says neither."""
        folded = fold(cell)
        for direction in ("in", "out"):
            if folded in {fold(word) for word in self.directions.get(direction, ())}:
                return direction
        return None

    def match(self, header: Sequence[str]) -> dict[str, int]:
        """Field -> column index for the fields this header row carries (first match wins)."""
        cells = [header_keys(cell) for cell in header]
        found: dict[str, int] = {}
        for name in FIELDS:
            wanted = {fold(label) for label in self.labels.get(name, ())}
            for index, keys in enumerate(cells):
                if index not in found.values() and keys & wanted:
                    found[name] = index
                    break
        return found

    def missing(self, header: Sequence[str]) -> list[str]:
        """The required fields this header row lacks."""
        found = self.match(header)
        lacking = [name for name in REQUIRED if name not in found]
        # one amount column stands for both, where neither is there: beside a lone debit or
        # credit column, which column holds the money is not guessed
        if "amount" in found and "debit" in lacking and "credit" in lacking:
            lacking = [name for name in lacking if name not in ("debit", "credit")]
        return lacking


GENERIC = Layout(
    "generic",
    {
        "date": (
            "Ngày giao dịch",
            "Ngày GD",
            "Ngày",
            "Ngày hạch toán",
            "Ngày hiệu lực",
            "Transaction Date",
            "Trans Date",
            "Txn Date",
            "Date",
            "Value Date",
            "Posting Date",
            "Effective Date",
        ),
        "reference": (
            "Số tham chiếu",
            "Số CT",
            "Số chứng từ",
            "Mã giao dịch",
            "Số GD",
            "Reference",
            "Reference No",
            "Ref No",
            "Ref",
            "Transaction No",
            "Transaction ID",
            "Doc No",
        ),
        "debit": (
            "Ghi nợ",
            "Nợ",
            "Số tiền ghi nợ",
            "Phát sinh nợ",
            "Tiền ra",
            "Debit",
            "Debit Amount",
            "Withdrawal",
            "Withdrawals",
            "Money Out",
        ),
        "credit": (
            "Ghi có",
            "Có",
            "Số tiền ghi có",
            "Phát sinh có",
            "Tiền vào",
            "Credit",
            "Credit Amount",
            "Deposit",
            "Deposits",
            "Money In",
        ),
        "amount": (
            "Số tiền",
            "Số tiền GD",
            "Số tiền giao dịch",
            "Số tiền phát sinh",
            "Amount",
            "Transaction Amount",
        ),
        "type": (
            "Loại",
            "Loại GD",
            "Loại giao dịch",
            "Nợ/Có",
            "Có/Nợ",
            "Type",
            "Transaction Type",
            "C/D",
            "D/C",
            "Dr/Cr",
            "Cr/Dr",
        ),
        "balance": ("Số dư", "Số dư cuối", "Balance", "Running Balance"),
        "narrative": (
            "Diễn giải",
            "Nội dung",
            "Nội dung giao dịch",
            "Mô tả",
            "Chi tiết giao dịch",
            "Narrative",
            "Description",
            "Details",
            "Transaction Details",
            "Remarks",
            "Content",
        ),
    },
)

VIETCOMBANK = Layout(
    "vietcombank",
    {
        "date": ("Ngày giao dịch", "Ngày GD", "Transaction Date", "Date"),
        "reference": ("Số tham chiếu", "Số CT", "Reference No", "Reference", "Doc No"),
        "debit": ("Ghi nợ", "Số tiền ghi nợ", "Debit"),
        "credit": ("Ghi có", "Số tiền ghi có", "Credit"),
        "balance": ("Số dư", "Balance"),
        "narrative": ("Diễn giải", "Mô tả", "Narrative", "Description"),
    },
)

ACB = Layout(
    "acb",
    {
        "date": ("Ngày hiệu lực", "Ngày giao dịch", "Effective Date", "Transaction Date"),
        "reference": ("Số GD", "Số giao dịch", "Transaction No"),
        "debit": ("Rút ra", "Tiền rút ra", "Withdrawal"),
        "credit": ("Gửi vào", "Tiền gửi vào", "Deposit"),
        "balance": ("Số dư", "Balance"),
        "narrative": ("Nội dung", "Nội dung giao dịch", "Description"),
    },
)

VIETINBANK = Layout(
    "vietinbank",
    {
        "date": ("Ngày giao dịch", "Transaction Date"),
        "reference": ("Số giao dịch", "Mã giao dịch", "Transaction No"),
        "debit": ("Nợ", "Ghi nợ", "Debit"),
        "credit": ("Có", "Ghi có", "Credit"),
        "balance": ("Số dư", "Balance"),
        "narrative": ("Mô tả giao dịch", "Transaction Description", "Description"),
    },
)

# Tried in this order when no layout is named; `generic` accepts most exports, and a bank's
# layout reads only what `generic` does not (so a file `generic` read keeps its source).
LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (GENERIC, VIETCOMBANK, ACB, VIETINBANK)
}
