"""Which header labels name which column: a bank's layout is data, not code.

Rule: a `Layout` maps each canonical field (`date`, `reference`, `debit`,
`credit`, `balance`, `narrative`) to the header labels a bank uses for it.
Labels are compared folded (`fold`): diacritics dropped (đ→d), lower-cased,
punctuation and a parenthesised unit such as `(VND)` removed, spaces
collapsed. A header cell like `Ghi nợ/Debit` matches a label equal to the
whole cell or to either side of the slash. `date`, `debit`, `credit` and
`narrative` are required; `reference` and `balance` are optional. To support
a new bank, add an entry to `LAYOUTS` (see docs/statements.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FIELDS = ("date", "reference", "debit", "credit", "balance", "narrative")
REQUIRED = ("date", "debit", "credit", "narrative")
FIELD_NAMES = {  # field -> (Vietnamese, English), for messages
    "date": ("Ngày giao dịch", "transaction date"),
    "reference": ("Số tham chiếu", "reference"),
    "debit": ("Ghi nợ", "debit"),
    "credit": ("Ghi có", "credit"),
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
    """The folded forms a header cell answers to: the whole cell and each side of a `/`."""
    whole = fold(cell)
    keys = {whole.replace(" / ", "/"), *(part.strip() for part in whole.split("/"))}
    return {k for k in keys if k}


@dataclass(frozen=True)
class Layout:
    """The accepted header labels of each canonical field, for one bank's export."""

    name: str
    labels: Mapping[str, tuple[str, ...]]

    def match(self, header: Sequence[str]) -> dict[str, int]:
        """Field -> column index for the fields this header row carries (first match wins)."""
        cells = [header_keys(cell) for cell in header]
        found: dict[str, int] = {}
        for field in FIELDS:
            wanted = {fold(label) for label in self.labels.get(field, ())}
            for index, keys in enumerate(cells):
                if index not in found.values() and keys & wanted:
                    found[field] = index
                    break
        return found

    def missing(self, header: Sequence[str]) -> list[str]:
        """The required fields this header row lacks."""
        found = self.match(header)
        return [field for field in REQUIRED if field not in found]


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

# Tried in this order when no layout is named; `generic` accepts most exports.
LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (GENERIC, VIETCOMBANK)}
